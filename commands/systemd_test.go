package commands

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// serve under systemd (Type=notify): READY=1 once it listens, WATCHDOG=1
// at half of WatchdogSec while it serves, STOPPING=1 when it stops.
func TestServeNotifiesSystemd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Skip("unixgram:", err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000") // 100 ms: a notification every 50 ms
	stop := startServeStoppable(t, filepath.Join(genStore(t, "20", ""), "blocks.db"))
	read := func() string {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
	if got := read(); !strings.HasPrefix(got, "READY=1\nSTATUS=serving heights 1-20 on http://127.0.0.1:") {
		t.Fatalf("first notification %q", got)
	}
	for range 2 {
		if got := read(); got != "WATCHDOG=1" {
			t.Fatalf("notification %q, want WATCHDOG=1", got)
		}
	}
	stop()
	for got := read(); got != "STOPPING=1"; got = read() {
		if got != "WATCHDOG=1" {
			t.Fatalf("notification %q while stopping", got)
		}
	}
}

// The example unit files run commands and flags vcsync has.
func TestUnitFilesUseRealFlags(t *testing.T) {
	t.Parallel()
	units, _ := filepath.Glob("../docs/systemd/*.service")
	if len(units) != 2 {
		t.Fatalf("unit files: %v", units)
	}
	for _, unit := range units {
		data, _ := os.ReadFile(unit)
		var exec []string
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
				exec = strings.Fields(v)
			}
		}
		if len(exec) < 2 || filepath.Base(exec[0]) != "vcsync" {
			t.Fatalf("%s: ExecStart %v", unit, exec)
		}
		var cmd *cli.Command
		for _, c := range NewApp().Commands {
			if c.Name == exec[1] {
				cmd = c
			}
		}
		if cmd == nil {
			t.Fatalf("%s: no command %q", unit, exec[1])
		}
		for _, arg := range exec[2:] {
			name, ok := strings.CutPrefix(arg, "--")
			if !ok {
				continue
			}
			if !slices.ContainsFunc(cmd.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), name) }) {
				t.Errorf("%s: vcsync %s has no --%s", unit, exec[1], name)
			}
		}
	}
}
