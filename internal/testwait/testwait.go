// Package testwait lets a test binary run more parallel tests at once than
// it has CPUs, for packages whose tests mostly wait: on a peer that stalls
// until its timeout, on a child process, on a lock held elsewhere. It is
// imported by test files only.
package testwait

import (
	"flag"
	"runtime"
	"strconv"
)

// RaiseParallel sets -test.parallel to factor times GOMAXPROCS unless the
// command line named it. Call it from TestMain, before m.Run.
func RaiseParallel(factor int) {
	flag.Parse()
	named := false
	flag.Visit(func(f *flag.Flag) { named = named || f.Name == "test.parallel" })
	if !named {
		flag.Set("test.parallel", strconv.Itoa(factor*runtime.GOMAXPROCS(0)))
	}
}
