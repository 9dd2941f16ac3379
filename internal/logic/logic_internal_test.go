package logic

import (
	"testing"
	"time"
)

func fixedNow() time.Time { return time.UnixMilli(1763900000123) }

func TestCompactObject(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`{"a":1}`, `{"a":1}`, true},
		{`{ "a" : [1, 2] }`, `{"a":[1,2]}`, true},
		{"\t{\"s\":\"a b\"}\n", `{"s":"a b"}`, true},
		{`{"s":"tab\there"}`, `{"s":"tab\there"}`, true},
		{`[1]`, "", false},
		{`"x"`, "", false},
		{`12`, "", false},
		{`{"a":1`, "", false},
		{`{"a" 1}`, "", false},
		{`{"a":1}{}`, "", false},
	} {
		got, ok := compactObject([]byte(tc.in))
		if ok != tc.ok || (ok && string(got) != tc.want) {
			t.Errorf("compactObject(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
