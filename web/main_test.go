package web_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// nbio's task pool keeps a worker goroutine for the life of the
		// process once the gateway has used it; it is idle, not leaked
		// (see DESIGN.md, "WebSocket library").
		goleak.IgnoreTopFunction("github.com/lesismal/nbio/taskpool.New.func3"),
	)
}
