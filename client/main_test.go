package client_test

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: every
// goroutine the client starts must stop by Close.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// stacktest's API calls use http.DefaultClient, whose idle
		// keep-alive connections are not leaks of ours.
		http.DefaultClient.CloseIdleConnections()
		err := goleak.Find(
			// nbio's worker pool, inside the server under test.
			goleak.IgnoreTopFunction("github.com/lesismal/nbio/taskpool.New.func3"),
		)
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
