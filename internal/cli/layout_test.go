package cli

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportDirection holds the layout of docs/architecture.md: imports flow
// cmd → cli → {gateway, logic, bench} → {bus, metrics} → protocol; gateway and
// logic never import each other; client imports only protocol; defaults,
// leaktest and ticker import nothing of ours.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/danmaku/danmaku/"
	forbidden := map[string][]string{
		"protocol":            {""}, // nothing of ours
		"client":              {"internal/", "web"},
		"internal/gateway":    {"internal/logic", "internal/cli", "internal/bench", "internal/stacktest", "client"},
		"internal/logic":      {"internal/gateway", "internal/cli", "internal/bench", "internal/stacktest", "client"},
		"internal/bus":        {"internal/gateway", "internal/logic", "internal/cli", "internal/bench", "client"},
		"internal/metrics":    {"internal/gateway", "internal/logic", "internal/cli", "internal/bus", "internal/bench"},
		"internal/bench":      {"internal/gateway", "internal/logic", "internal/cli", "internal/bus"},
		"web":                 {"internal/", "client"},
		"internal/console":    {"internal/", "client"},
		"internal/stacktest":  {"internal/bench"},
		"internal/auth":       {"internal/gateway", "internal/logic", "internal/cli", "internal/bus", "internal/bench", "client"},
		"internal/filter":     {"internal/"},
		"internal/moderation": {"internal/gateway", "internal/logic", "internal/cli", "internal/bench", "client"},
		"internal/defaults":   {"internal/", "client", "web", "protocol"},
		"internal/leaktest":   {"internal/", "client", "web", "protocol"},
		"internal/ticker":     {"internal/", "client", "web", "protocol"},
		"internal/natstest":   {"internal/gateway", "internal/logic", "internal/cli", "internal/bench", "internal/presence", "internal/relay", "internal/overview", "client", "web"},
		// relay and presence are NATS plumbing between the roles; gateway
		// and logic meet through them only via interfaces wired in cli.
		"internal/relay":    {"internal/gateway", "internal/logic", "internal/cli", "internal/bench", "internal/bus", "client"},
		"internal/presence": {"internal/gateway", "internal/logic", "internal/bus", "internal/cli", "internal/bench", "client", "web"},
		// overview is NATS plumbing too: logic serves what it holds, cli
		// feeds it the gateway's rooms.
		"internal/overview":    {"internal/gateway", "internal/logic", "internal/bus", "internal/cli", "internal/bench", "client", "web"},
		"internal/clustertest": {"internal/gateway", "internal/logic", "internal/bus", "internal/cli", "internal/bench"},
	}
	root := filepath.Join("..", "..")
	checked := 0
	for dir, bad := range forbidden {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for _, imp := range file.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				if !strings.HasPrefix(path, mod) {
					continue
				}
				own := strings.TrimPrefix(path, mod)
				for _, b := range bad {
					// Everyone may import protocol, unless the list names it.
					mayImportProtocol := own == "protocol" && b != "protocol" && dir != "protocol"
					if strings.HasPrefix(own, b) && !mayImportProtocol {
						t.Errorf("%s imports %s, against the layout", f, path)
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d files; is the layout where the test expects it?", checked)
	}
}
