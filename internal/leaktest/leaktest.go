// Package leaktest is the goroutine-leak check that every test binary of
// danmaku runs after its tests: its TestMain calls Main. It imports nothing
// of ours, so the tests of any package can use it.
package leaktest

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Main runs the tests and, if they passed, fails the binary when a goroutine
// that a test started is still running. goleak retries for a while, so
// goroutines on their way out are not reported. The after functions run
// once the tests are done, before the check (Main exits the process, so a
// deferred call in TestMain would never run).
func Main(m *testing.M, after ...func()) {
	// Goroutines already running were started by package initialisation,
	// not by a test. nbio's websocket package is why this matters: at init
	// it builds a package-level nbhttp engine (websocket.DefaultEngine)
	// whose two task pools each start a dispatcher goroutine
	// (taskpool.New.func3) that only that engine's Stop would end, and
	// nothing stops it. Ignoring these goroutines, rather than every
	// goroutine in that function, still reports the task pools of an engine
	// that a test started and did not stop.
	ignore := goleak.IgnoreCurrent()
	code := m.Run()
	for _, f := range after {
		f()
	}
	if code == 0 {
		// Idle keep-alive connections of the shared client (stacktest's API
		// calls use it) are a cache, not a leak.
		http.DefaultClient.CloseIdleConnections()
		if err := goleak.Find(ignore); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
