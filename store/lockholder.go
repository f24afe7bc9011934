package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockHolder names the process that holds the lock on path, when Linux's
// /proc says: bbolt locks with flock(2), which /proc/locks lists by inode
// with the holder's pid. For a vcsync it gives the command line and, when
// the command was given --metrics-addr, where to ask it. Elsewhere, or
// when /proc is not readable, it is "".
func lockHolder(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	pid := flockHolder(st.Ino, uint64(st.Dev))
	if pid <= 0 || pid == os.Getpid() {
		return ""
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(raw) == 0 {
		return fmt.Sprintf("held by pid %d", pid)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	if !isVcsync(pid, args[0]) {
		return fmt.Sprintf("held by pid %d (%s)", pid, filepath.Base(args[0]))
	}
	note := fmt.Sprintf("held by vcsync, pid %d: vcsync %s", pid, strings.Join(args[1:], " "))
	if addr := flagValue(args[1:], "metrics-addr"); addr != "" && !strings.HasSuffix(addr, ":0") {
		note += fmt.Sprintf("; ask it at http://%s/metrics", addr)
	}
	return note
}

// flockHolder finds the pid of a FLOCK on the inode in /proc/locks, whose
// lines read "1: FLOCK ADVISORY WRITE 1234 08:01:5678 0 EOF" (the device
// in hex major:minor).
func flockHolder(ino, dev uint64) int {
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	want := fmt.Sprintf("%02x:%02x:%d", unixMajor(dev), unixMinor(dev), ino)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 6 && f[1] == "FLOCK" && f[5] == want {
			if pid, err := strconv.Atoi(f[4]); err == nil {
				return pid
			}
		}
	}
	return 0
}

func unixMajor(dev uint64) uint64 { return (dev>>8)&0xfff | (dev>>32)&^0xfff }
func unixMinor(dev uint64) uint64 { return dev&0xff | (dev>>12)&^0xff }

// isVcsync says whether pid runs this program (the same executable) or
// one named vcsync.
func isVcsync(pid int, argv0 string) bool {
	if self, err := os.Executable(); err == nil {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == self {
			return true
		}
	}
	return strings.Contains(filepath.Base(argv0), "vcsync")
}

// flagValue reads --name V or --name=V from args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
