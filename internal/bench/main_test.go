package bench_test

import (
	"testing"

	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, clustertest.Cleanup) }
