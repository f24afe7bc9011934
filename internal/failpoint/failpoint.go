// Package failpoint names the moments inside vcsync's writers where a test
// can kill the process (before and after each fsync, rename and link), so
// crash tests prove what a kill at exactly that moment leaves on disk.
//
// Only a test binary arms a failpoint (Arm, from its TestMain); vcsync
// itself never does, so in a release build Hit is a comparison against an
// empty string and nothing else.
package failpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// EnvVar is the environment variable a test's child process reads to arm
// a failpoint: "NAME" kills at the first hit of NAME, "NAME:N" at the Nth.
const EnvVar = "VCSYNC_FAILPOINT"

var (
	mu     sync.Mutex
	armed  string
	hitsAt int
	hits   int
)

// Arm sets the failpoint spec ("NAME" or "NAME:N"). Called by test binaries only.
func Arm(spec string) error {
	name, n := spec, 1
	if i := strings.LastIndexByte(spec, ':'); i >= 0 {
		v, err := strconv.Atoi(spec[i+1:])
		if err != nil || v < 1 {
			return fmt.Errorf("failpoint %q: the count after ':' must be a whole number from 1", spec)
		}
		name, n = spec[:i], v
	}
	mu.Lock()
	defer mu.Unlock()
	armed, hitsAt, hits = name, n, 0
	return nil
}

// Hit marks the named moment. When it is the armed failpoint's Nth hit,
// the process kills itself with SIGKILL: no deferred function, no flush,
// exactly what kill -9 leaves.
func Hit(name string) {
	mu.Lock()
	if armed == "" || armed != name || name == "" {
		mu.Unlock()
		return
	}
	hits++
	fire := hits == hitsAt
	mu.Unlock()
	if fire {
		fmt.Fprintf(os.Stderr, "failpoint %s: killing the process\n", name)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
