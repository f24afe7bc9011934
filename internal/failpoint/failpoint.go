// Package failpoint names the moments inside vcsync's writers where a test
// can stop the process (before and after each fsync, rename and link), so
// crash tests prove what a kill or a power cut at exactly that moment
// leaves on disk, and what a second writer started there does.
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
	"time"
)

// EnvVar is the environment variable a test's child process reads to arm
// a failpoint: "NAME" fires at the first hit of NAME, "NAME:N" at the Nth.
const EnvVar = "VCSYNC_FAILPOINT"

// ActionEnvVar says what a firing failpoint does:
//
//	kill (or empty)  SIGKILL: no deferred function, no flush (kill -9)
//	powercut=DIR     shut the ext4 filesystem holding DIR down without
//	                 flushing its journal (a power cut), then SIGKILL
//	pause=FILE       create FILE and wait until it is removed
//	mark=FILE        create FILE and go on
const ActionEnvVar = "VCSYNC_FAILPOINT_ACTION"

var (
	mu     sync.Mutex
	armed  string
	action string
	hitsAt int
	hits   int
)

// Arm sets the failpoint spec ("NAME" or "NAME:N") and its action (see
// ActionEnvVar). Called by test binaries only.
func Arm(spec, act string) error {
	name, n := spec, 1
	if i := strings.LastIndexByte(spec, ':'); i >= 0 {
		v, err := strconv.Atoi(spec[i+1:])
		if err != nil || v < 1 {
			return fmt.Errorf("failpoint %q: the count after ':' must be a whole number from 1", spec)
		}
		name, n = spec[:i], v
	}
	verb, _, _ := strings.Cut(act, "=")
	switch verb {
	case "", "kill", "powercut", "pause", "mark":
	default:
		return fmt.Errorf("failpoint action %q: want kill, powercut=DIR, pause=FILE or mark=FILE", act)
	}
	mu.Lock()
	defer mu.Unlock()
	armed, action, hitsAt, hits = name, act, n, 0
	return nil
}

// Armed reports whether name is the armed failpoint, for a moment that
// costs work to recognise.
func Armed(name string) bool {
	mu.Lock()
	defer mu.Unlock()
	return armed != "" && armed == name
}

// Hit marks the named moment; on the armed failpoint's Nth hit it does
// the armed action.
func Hit(name string) {
	mu.Lock()
	if armed == "" || armed != name || name == "" {
		mu.Unlock()
		return
	}
	hits++
	fire := hits == hitsAt
	act := action
	mu.Unlock()
	if fire {
		do(name, act)
	}
}

func do(name, act string) {
	verb, arg, _ := strings.Cut(act, "=")
	switch verb {
	case "pause", "mark":
		if err := os.WriteFile(arg, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "failpoint %s: %v\n", name, err)
		}
		for verb == "pause" {
			if _, err := os.Stat(arg); err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		return
	case "powercut":
		if err := shutdown(arg); err != nil {
			fmt.Fprintf(os.Stderr, "failpoint %s: power cut: %v\n", name, err)
		}
	}
	fmt.Fprintf(os.Stderr, "failpoint %s: killing the process\n", name)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
