package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("danmaku send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiURL := fs.String("api-url", "http://localhost:8080", "base URL of the HTTP API")
	apiKey := fs.String("api-key", "", "HTTP API key")
	room := fs.String("room", "lobby", "room to send to")
	text := fs.String("text", "", "message text (required)")
	typ := fs.String("type", "", "message type (default danmaku)")
	mode := fs.String("mode", "", "scroll, top, bottom or reverse")
	color := fs.String("color", "", "#rrggbb")
	size := fs.String("size", "", "small, normal or large")
	userID := fs.String("user-id", "", "author id shown to viewers (optional)")
	userName := fs.String("user-name", "", "author name shown to viewers (optional)")
	count := fs.Int("count", 1, "send the message this many times in one request (1–1000)")
	timeout := fs.Duration("timeout", 10*time.Second, "request timeout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *text == "" {
		return fmt.Errorf("%w: --text is required", errUsage)
	}
	if *apiKey == "" {
		return fmt.Errorf("%w: --api-key (or DANMAKU_API_KEY) is required", errUsage)
	}
	if *count < 1 || *count > protocol.MaxPublishMessages {
		return fmt.Errorf("%w: --count must be 1–%d", errUsage, protocol.MaxPublishMessages)
	}
	pm := protocol.PublishMessage{Type: *typ, Text: *text, Mode: *mode, Color: *color, Size: *size}
	if *userID != "" {
		pm.User = &protocol.User{ID: *userID, Name: *userName}
	}
	req := protocol.PublishRequest{}
	for range *count {
		req.Messages = append(req.Messages, pm)
	}
	var resp protocol.PublishResponse
	url := strings.TrimRight(*apiURL, "/") + "/v1/rooms/" + *room + "/messages"
	if err := postJSON(ctx, url, *apiKey, *timeout, req, &resp); err != nil {
		return err
	}
	for _, off := range resp.Offsets {
		fmt.Fprintf(stdout, "stored in %s at offset %d\n", *room, off)
	}
	return nil
}

// postJSON posts v and decodes a 200 answer into out, or returns the API's
// error.
func postJSON(ctx context.Context, url, key string, timeout time.Duration, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e protocol.APIError
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("%s (HTTP %d): %s", e.Error.Code, resp.StatusCode, e.Error.Message)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
	}
	return json.Unmarshal(data, out)
}
