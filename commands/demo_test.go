package commands

import (
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "demo", "--blocks", "3000", "--batch", "100") // 30 batches: the forger is chosen
	for _, want := range []string{"synced 3000 blocks (1-3000)", "peer dropped:", "not a member of the committee", "gaps         none", "in order     3000"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
