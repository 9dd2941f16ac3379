package metrics

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func allStats() BusStats { return BusStats{Connected: true} }

// touched returns a registry whose every family has a series: each Vec gets
// a child, so that Gather lists it.
func touched(t *testing.T) *Metrics {
	t.Helper()
	m := New()
	m.WatchBus(allStats)
	for _, f := range m.Families() {
		c := m.collectors[f.Name]
		values := make([]string, len(f.Labels))
		for i := range values {
			values[i] = "x"
		}
		switch v := c.(type) {
		case *prometheus.CounterVec:
			v.WithLabelValues(values...).Inc()
		case *prometheus.GaugeVec:
			v.WithLabelValues(values...).Inc()
		case *prometheus.HistogramVec:
			v.WithLabelValues(values...).Observe(1)
		default:
			if len(f.Labels) > 0 {
				t.Fatalf("%s has labels but is a %T", f.Name, c)
			}
		}
	}
	return m
}

// The catalogue is exactly what the registry exports under danmaku_: the
// same names, types and label names, nothing missing and nothing extra.
func TestCatalogueIsTheRegistry(t *testing.T) {
	m := touched(t)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]Family{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "danmaku_") {
			continue
		}
		fam := Family{Name: f.GetName(), Type: strings.ToLower(f.GetType().String())}
		for _, l := range f.GetMetric()[0].GetLabel() {
			fam.Labels = append(fam.Labels, l.GetName())
		}
		exported[fam.Name] = fam
	}
	catalogue := m.Families()
	if len(catalogue) != len(exported) {
		t.Errorf("the catalogue has %d families, the registry %d", len(catalogue), len(exported))
	}
	for _, f := range catalogue {
		e, ok := exported[f.Name]
		switch {
		case !ok:
			t.Errorf("%s is in the catalogue, not in the registry", f.Name)
		case e.Type != f.Type:
			t.Errorf("%s is a %s in the registry, a %s in the catalogue", f.Name, e.Type, f.Type)
		case !slices.Equal(sorted(e.Labels), sorted(f.Labels)):
			t.Errorf("%s has labels %v in the registry, %v in the catalogue", f.Name, e.Labels, f.Labels)
		}
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// The lists of reasons hold every constant of their type in reasons.go, so
// that the series made at 0 and the node stats miss none.
func TestReasonListsAreComplete(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "reasons.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string][]string{} // type → values
	for _, decl := range file.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			typ, ok := vs.Type.(*ast.Ident)
			if !ok || len(vs.Values) != 1 {
				continue
			}
			v, err := strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
			if err != nil {
				t.Fatal(err)
			}
			consts[typ.Name] = append(consts[typ.Name], v)
		}
	}
	lists := map[string][]string{
		"DropReason":       strs(DropReasons),
		"CloseReason":      strs(CloseReasons),
		"StoreErrorSource": strs(StoreErrorSources),
	}
	for typ, list := range lists {
		if len(consts[typ]) == 0 {
			t.Fatalf("found no %s constants in reasons.go", typ)
		}
		if !slices.Equal(sorted(consts[typ]), sorted(list)) {
			t.Errorf("%s constants %v, list %v", typ, consts[typ], list)
		}
	}
}

func strs[T ~string](s []T) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

// The by-reason counters have a series at 0 for every reason before
// anything happened.
func TestReasonsStartAtZero(t *testing.T) {
	families, err := New().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, f := range families {
		series[f.GetName()] = len(f.GetMetric())
	}
	for name, n := range map[string]int{NameDrops: len(DropReasons), NameCloses: len(CloseReasons), "danmaku_store_errors_total": len(StoreErrorSources)} {
		if series[name] != n {
			t.Errorf("%s has %d series at start, want %d", name, series[name], n)
		}
	}
}
