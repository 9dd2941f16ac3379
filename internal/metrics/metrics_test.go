package metrics

import (
	"strings"
	"testing"

	"github.com/danmaku/danmaku/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

func TestEveryMetricIsExported(t *testing.T) {
	m := New()
	m.Drop(DropSlowConsumer)
	m.Closed(CloseIdle)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, want := range []string{"danmaku_connections", "danmaku_deliveries_total", "danmaku_batch_size",
		"danmaku_publish_to_write_seconds", "danmaku_drops_total", "danmaku_closes_total", "go_goroutines", "process_resident_memory_bytes"} {
		if !names[want] {
			t.Errorf("%s is not exported", want)
		}
	}
	for n := range names {
		if !strings.HasPrefix(n, "danmaku_") && !strings.HasPrefix(n, "go_") && !strings.HasPrefix(n, "process_") {
			t.Errorf("unexpected metric %s", n)
		}
	}
}
