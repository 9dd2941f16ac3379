package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// The tests here hold docs/grafana/danmaku.json and docs/prometheus/alerts.yml
// to the metrics the server exports. The known series come from the
// catalogue (Families), which lists every danmaku_ family whether or not it
// has a series yet, and from Gather for the Go runtime and process
// collectors, which always have theirs. A PromQL expression's selectors are
// found by a small lexer (selectors, below): every metric name must be a
// known series, and every label a matcher names must be one of its labels
// or a target label (job, instance).

var (
	dashboardPath = filepath.Join("..", "..", "docs", "grafana", "danmaku.json")
	alertsPath    = filepath.Join("..", "..", "docs", "prometheus", "alerts.yml")
)

// series maps each series name a query may use to its label names.
type series map[string][]string

func knownSeries(t *testing.T) series {
	t.Helper()
	m := New()
	m.WatchBus(allStats)
	known := series{}
	for _, f := range m.Families() {
		known.add(f.Name, f.Type, f.Labels)
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "danmaku_") {
			continue
		}
		var labels []string
		if ms := f.GetMetric(); len(ms) > 0 {
			for _, l := range ms[0].GetLabel() {
				labels = append(labels, l.GetName())
			}
		}
		known.add(f.GetName(), strings.ToLower(f.GetType().String()), labels)
	}
	return known
}

func (s series) add(name, typ string, labels []string) {
	switch typ {
	case strings.ToLower(dto.MetricType_HISTOGRAM.String()):
		s[name+"_bucket"] = append(slices.Clone(labels), "le")
		s[name+"_sum"], s[name+"_count"] = labels, labels
	case strings.ToLower(dto.MetricType_SUMMARY.String()):
		s[name] = append(slices.Clone(labels), "quantile")
		s[name+"_sum"], s[name+"_count"] = labels, labels
	default:
		s[name] = labels
	}
}

// check returns an error for every selector of expr that names no known
// series, or a label that series does not have.
func (s series) check(expr string) error {
	sels, err := selectors(expr)
	if err != nil {
		return fmt.Errorf("%q: %w", expr, err)
	}
	if len(sels) == 0 {
		return fmt.Errorf("%q uses no metric", expr)
	}
	var errs []error
	for _, sel := range sels {
		labels, ok := s[sel.name]
		if !ok {
			errs = append(errs, fmt.Errorf("%q: %s is not a metric the server exports", expr, sel.name))
			continue
		}
		for _, l := range sel.labels {
			if l != "job" && l != "instance" && !slices.Contains(labels, l) {
				errs = append(errs, fmt.Errorf("%q: %s has no label %s (it has %v)", expr, sel.name, l, labels))
			}
		}
	}
	return errors.Join(errs...)
}

// hasLabel returns an error unless every metric of expr has label.
func (s series) hasLabel(expr, label string) error {
	sels, err := selectors(expr)
	if err != nil {
		return err
	}
	for _, sel := range sels {
		if labels, ok := s[sel.name]; ok && label != "job" && label != "instance" && !slices.Contains(labels, label) {
			return fmt.Errorf("%q: %s has no label %s", expr, sel.name, label)
		}
	}
	return nil
}

// selector is a metric name in a query and the label names of its
// matchers.
type selector struct {
	name   string
	labels []string
}

var (
	// Words that are not metric names where a metric name could stand.
	promKeywords = set("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan")
	// Keywords followed by a list of label names in parentheses.
	labelLists = set("by", "without", "on", "ignoring", "group_left", "group_right")
	// Aggregations, which may be followed by "by (…)" before their "(".
	aggregations = set("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio")
)

func set(words ...string) map[string]bool {
	m := map[string]bool{}
	for _, w := range words {
		m[w] = true
	}
	return m
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// selectors lexes a PromQL expression (with Grafana's $variables) far
// enough to find its metric selectors: strings, ranges and subqueries,
// numbers and durations, functions, aggregations and their label lists are
// skipped.
func selectors(expr string) ([]selector, error) {
	var out []selector
	i := 0
	skipSpace := func() {
		for i < len(expr) && isSpace(expr[i]) {
			i++
		}
	}
	for i < len(expr) {
		c := expr[i]
		switch {
		case isSpace(c):
			i++
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '[':
			j := strings.IndexByte(expr[i:], ']')
			if j < 0 {
				return nil, errors.New("unclosed [")
			}
			i += j + 1
		case c == '{':
			return nil, errors.New("a selector without a metric name")
		case c == '$': // a Grafana variable: $name or ${name}
			i++
			if i < len(expr) && expr[i] == '{' {
				j := strings.IndexByte(expr[i:], '}')
				if j < 0 {
					return nil, errors.New("unclosed ${")
				}
				i += j + 1
			}
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
			word := expr[start:i]
			skipSpace()
			next := byte(0)
			if i < len(expr) {
				next = expr[i]
			}
			lower := strings.ToLower(word)
			switch {
			case labelLists[lower] && next == '(':
				j := strings.IndexByte(expr[i:], ')')
				if j < 0 {
					return nil, errors.New("unclosed label list")
				}
				i += j + 1
			case promKeywords[lower] || aggregations[lower] || next == '(':
				// a keyword, an aggregation or a function
			default:
				sel := selector{name: word}
				if next == '{' {
					labels, j, err := matchers(expr, i)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", word, err)
					}
					sel.labels, i = labels, j
				}
				out = append(out, sel)
			}
		default:
			i++
		}
	}
	return out, nil
}

// matchers reads the label matchers from the '{' at i and returns their
// label names and the index after the '}'.
func matchers(expr string, i int) ([]string, int, error) {
	var labels []string
	i++ // '{'
	for {
		for i < len(expr) && (isSpace(expr[i]) || expr[i] == ',') {
			i++
		}
		if i >= len(expr) {
			return nil, 0, errors.New("unclosed {")
		}
		if expr[i] == '}' {
			return labels, i + 1, nil
		}
		start := i
		for i < len(expr) && isIdent(expr[i]) {
			i++
		}
		if start == i {
			return nil, 0, fmt.Errorf("a label name expected at %q", expr[i:])
		}
		labels = append(labels, expr[start:i])
		for i < len(expr) && isSpace(expr[i]) {
			i++
		}
		op := 0
		for _, o := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(expr[i:], o) {
				op = len(o)
				break
			}
		}
		if op == 0 {
			return nil, 0, fmt.Errorf("a matcher operator expected at %q", expr[i:])
		}
		i += op
		for i < len(expr) && isSpace(expr[i]) {
			i++
		}
		j, err := skipString(expr, i)
		if err != nil {
			return nil, 0, err
		}
		i = j
	}
}

// skipString returns the index after the string literal at i.
func skipString(expr string, i int) (int, error) {
	if i >= len(expr) || !strings.ContainsRune("\"'`", rune(expr[i])) {
		return 0, fmt.Errorf("a string expected at %q", expr[i:])
	}
	quote := expr[i]
	for j := i + 1; j < len(expr); j++ {
		switch {
		case expr[j] == '\\' && quote != '`':
			j++
		case expr[j] == quote:
			return j + 1, nil
		}
	}
	return 0, errors.New("unclosed string")
}

func TestSelectors(t *testing.T) {
	for expr, want := range map[string]string{
		`sum by (le) (rate(a_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval]))`: `[{a_bucket [job instance]}]`,
		`histogram_quantile(0.99, sum by (instance, le) (rate(x_bucket[5m]))) > 0.5`:         `[{x_bucket []}]`,
		`a / on (instance) group_left (version) b{code!="a}b"} offset 5m and bool c`:         `[{a []} {b [code]} {c []}]`,
		`sum without(reason)(increase(d_total{reason='x',le!~"1|2"}[1h:5m])) * 1e3`:          `[{d_total [reason le]}]`,
		`max(e) by (job)`: `[{e []}]`,
	} {
		got, err := selectors(expr)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("selectors(%s) = %v, %v; want %s", expr, got, err, want)
		}
	}
	for _, bad := range []string{`a{b="c"`, `a{b}`, `{__name__="a"}`, `a{b="c}`, `rate(a[5m)`} {
		if _, err := selectors(bad); err == nil {
			t.Errorf("selectors(%s) found no error", bad)
		}
	}
}

// dashboard is what the test reads of a Grafana dashboard.
type dashboard struct {
	SchemaVersion int `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Datasource map[string]string `json:"datasource"`
	Targets    []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$`)

// checkDashboard returns every problem of a dashboard's JSON, and the
// expressions it checked.
func checkDashboard(data []byte, known series) ([]string, error) {
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	var errs []error
	if d.SchemaVersion < 39 {
		errs = append(errs, fmt.Errorf("schemaVersion %d; Grafana 11 writes 39 or later", d.SchemaVersion))
	}
	vars := map[string]string{}
	var checked []string
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil {
			_ = json.Unmarshal(v.Query, &q.Query) // a plain string
		}
		for _, query := range []string{q.Query, v.Definition} {
			m := labelValues.FindStringSubmatch(query)
			if m == nil {
				errs = append(errs, fmt.Errorf("variable %s: %q is not label_values(selector, label)", v.Name, query))
				continue
			}
			checked = append(checked, query)
			errs = append(errs, known.check(m[1]), known.hasLabel(m[1], m[2]))
		}
	}
	if vars["datasource"] != "datasource" || vars["job"] != "query" || vars["instance"] != "query" {
		errs = append(errs, fmt.Errorf("variables %v; want datasource (a data source variable) and the queries job and instance", vars))
	}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if len(p.Targets) == 0 || p.Datasource["uid"] != "${datasource}" {
				errs = append(errs, fmt.Errorf("panel %q: %d targets, data source %v; want targets on ${datasource}", p.Title, len(p.Targets), p.Datasource))
			}
			for _, tg := range p.Targets {
				checked = append(checked, tg.Expr)
				if err := known.check(tg.Expr); err != nil {
					errs = append(errs, fmt.Errorf("panel %q: %w", p.Title, err))
				}
			}
		}
	}
	walk(d.Panels)
	return checked, errors.Join(errs...)
}

func TestDashboardUsesExportedMetrics(t *testing.T) {
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	exprs, err := checkDashboard(data, knownSeries(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(exprs) < 30 {
		t.Fatalf("checked only %d expressions", len(exprs))
	}
	// Every family of the catalogue is on a panel.
	all := strings.Join(exprs, "\n")
	m := New()
	m.WatchBus(allStats)
	for _, f := range m.Families() {
		if !strings.Contains(all, f.Name) {
			t.Errorf("%s is on no panel", f.Name)
		}
	}
}

// A typo in a metric or a label name, or a broken expression, fails the
// check.
func TestDashboardCheckCatchesTypos(t *testing.T) {
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	known := knownSeries(t)
	for from, to := range map[string]string{
		"(rate(danmaku_deliveries_total{":                         "(rate(danmaku_delivery_total{",
		"danmaku_publish_to_write_seconds_bucket":                 "danmaku_publish_to_write_seconds",
		`sum by (reason) (rate(danmaku_drops_total{job=~\"$job\"`: `sum by (reason) (rate(danmaku_drops_total{job=~\"$job\",reasn=\"x\"`,
		"label_values(danmaku_connections, job)":                  "label_values(danmaku_conections, job)",
		`"expr": "process_resident_memory_bytes{`:                 `"expr": "process_resident_memory{`,
		`"expr": "sum(danmaku_connections{`:                       `"expr": "sum(danmaku_connections{{`,
	} {
		if !bytes.Contains(data, []byte(from)) {
			t.Fatalf("the dashboard has no %s to break", from)
		}
		broken := bytes.Replace(data, []byte(from), []byte(to), 1)
		if _, err := checkDashboard(broken, known); err == nil {
			t.Errorf("replacing %s with %s went unnoticed", from, to)
		}
	}
}

// rules is the shape of a Prometheus rule file, as far as alerts go.
type rules struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// checkAlerts returns every problem of a rule file and the alerts it
// holds by name, with their expressions.
func checkAlerts(data []byte, known series) (map[string]string, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var r rules
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	var errs []error
	alerts := map[string]string{}
	if len(r.Groups) == 0 {
		errs = append(errs, errors.New("no groups"))
	}
	for _, g := range r.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			errs = append(errs, fmt.Errorf("group %q has %d rules; a group needs a name and rules", g.Name, len(g.Rules)))
		}
		for _, rule := range g.Rules {
			name := rule.Alert
			if _, dup := alerts[name]; name == "" || dup {
				errs = append(errs, fmt.Errorf("alert %q: every rule needs a unique alert name", name))
			}
			alerts[name] = rule.Expr
			if d, err := time.ParseDuration(rule.For); err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("alert %s: for %q is not a positive duration", name, rule.For))
			}
			if s := rule.Labels["severity"]; s != "critical" && s != "warning" {
				errs = append(errs, fmt.Errorf("alert %s: severity %q; want critical or warning", name, s))
			}
			if strings.TrimSpace(rule.Annotations["summary"]) == "" || strings.TrimSpace(rule.Annotations["description"]) == "" {
				errs = append(errs, fmt.Errorf("alert %s needs a summary and a description", name))
			}
			if err := known.check(rule.Expr); err != nil {
				errs = append(errs, fmt.Errorf("alert %s: %w", name, err))
			}
		}
	}
	return alerts, errors.Join(errs...)
}

func TestAlertRules(t *testing.T) {
	data, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	known := knownSeries(t)
	alerts, err := checkAlerts(data, known)
	if err != nil {
		t.Fatal(err)
	}
	// The failures that matter each have an alert on the metric that shows it.
	for what, metric := range map[string]string{
		"slow-consumer closes rising": `danmaku_closes_total{reason="slow_consumer"}`,
		"publish→write latency":       "danmaku_publish_to_write_seconds_bucket",
		"NATS disconnected":           "danmaku_bus_connected",
		"JetStream errors":            "danmaku_store_errors_total",
		"API 5xx":                     `danmaku_api_requests_total{status=~"5.."}`,
	} {
		found := false
		for _, expr := range alerts {
			found = found || strings.Contains(expr, metric)
		}
		if !found {
			t.Errorf("no alert for %s (on %s)", what, metric)
		}
	}
	for from, to := range map[string]string{
		"danmaku_bus_connected == 0": "danmaku_nats_connected == 0",
		"for: 10m":                   "for: soon",
		"severity: critical":         "severity: page",
		"    rules:":                 "    rulez:",
		`reason="slow_consumer"`:     `raeson="slow_consumer"`,
	} {
		broken := bytes.Replace(data, []byte(from), []byte(to), 1)
		if bytes.Equal(broken, data) {
			t.Fatalf("the rules have no %s to break", from)
		}
		if _, err := checkAlerts(broken, known); err == nil {
			t.Errorf("replacing %s with %s went unnoticed", from, to)
		}
	}
}
