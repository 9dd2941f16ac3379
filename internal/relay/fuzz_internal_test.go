package relay

import (
	"encoding/json"
	"testing"
)

// FuzzRequest: any bytes on a relay subject decode into a request with a
// message, or are refused; nothing panics, and what decodes encodes again.
func FuzzRequest(f *testing.F) {
	f.Add([]byte(`{"user":{"id":"u_1","name":"a","role":"viewer"},"msg":{"op":"send","room":"lobby","text":"hi"}}`))
	f.Add([]byte(`{"user":{},"msg":null}`))
	f.Add([]byte(`{"msg":{"op":"moderate","action":"ban","user":"u_2","seconds":-1}}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeRequest(data)
		if err != nil {
			return
		}
		if req.Msg == nil {
			t.Fatal("decoded a request without a message")
		}
		if _, err := json.Marshal(req); err != nil {
			t.Fatalf("a decoded request does not encode: %v", err)
		}
	})
}
