package leaktest

import (
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

var (
	leak    = flag.Bool("leak", false, "TestReportsLeaks' child: leave a goroutine running")
	forever = make(chan struct{})
)

// Like nbio's package-level engine: started at init, never stopped. This
// binary passing shows that Main ignores it.
func init() { go func() { <-forever }() }

func TestReportsLeaks(t *testing.T) {
	if *leak {
		go func() { <-forever }()
		return
	}
	out, err := exec.Command(os.Args[0], "-test.run=^TestReportsLeaks$", "-leak").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "goleak:") || !strings.Contains(string(out), "TestReportsLeaks") {
		t.Fatalf("a goroutine left by a test: exit %v, output:\n%s", err, out)
	}
}
