// Package sdnotify tells systemd how a service is doing, over the socket
// NOTIFY_SOCKET names (sd_notify(3)): READY=1 once it serves, WATCHDOG=1
// while it is alive, STOPPING=1 when it stops. Without NOTIFY_SOCKET
// (not run by systemd with Type=notify) every call does nothing.
package sdnotify

import (
	"net"
	"os"
	"strconv"
	"time"
)

// Notify sends state (for example "READY=1") and reports whether it was
// sent: false without NOTIFY_SOCKET. An abstract socket is named with a
// leading "@".
func Notify(state string) (bool, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return false, nil
	}
	addr := &net.UnixAddr{Name: path, Net: "unixgram"}
	if path[0] == '@' {
		addr.Name = "\x00" + path[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, err
	}
	return true, nil
}

// WatchdogInterval is how often to send WATCHDOG=1: half the WatchdogSec
// systemd set (WATCHDOG_USEC), as sd_watchdog_enabled(3) advises, or 0
// when there is no watchdog for this process.
func WatchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}
