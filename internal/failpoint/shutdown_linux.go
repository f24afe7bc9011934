package failpoint

import (
	"os"
	"syscall"
	"unsafe"
)

// From linux/fs/ext4/ext4.h: EXT4_IOC_SHUTDOWN is _IOR('X', 125, __u32);
// the NOLOGFLUSH flag stops the filesystem without writing its journal.
const (
	ext4IocShutdown          = 0x8004587d
	ext4GoingFlagsNoLogFlush = 0x2
)

// shutdown stops the ext4 filesystem holding dir at once, dropping its
// unflushed journal: what a power cut leaves is what the disk holds.
func shutdown(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := uint32(ext4GoingFlagsNoLogFlush)
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), ext4IocShutdown, uintptr(unsafe.Pointer(&flags))); errno != 0 {
		return errno
	}
	return nil
}

// Shutdown is shutdown for tests that cut the power themselves (after a
// command's exit 0).
func Shutdown(dir string) error { return shutdown(dir) }
