package gateway

import "bytes"

var tsKey = []byte(`"ts":`)

// acceptedAt extracts the "ts" field (unix ms) from a stored body without
// decoding it. The first "ts": in a body produced by json.Marshal(Body) is
// the message's own: strings are escaped, and the only free-form object
// (data) comes after ts.
func acceptedAt(body []byte) int64 {
	i := bytes.Index(body, tsKey)
	if i < 0 {
		return 0
	}
	var v int64
	for _, c := range body[i+len(tsKey):] {
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int64(c-'0')
	}
	return v
}
