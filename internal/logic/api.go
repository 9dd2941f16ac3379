package logic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// Handler returns the HTTP API, rooted at /v1/.
func (l *Logic) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/rooms/{room}/messages", l.route("publish", l.publish))
	mux.HandleFunc("GET /v1/rooms/{room}/messages", l.route("history", l.history))
	mux.HandleFunc("GET /v1/rooms/{room}", l.route("room", l.roomInfo))
	mux.HandleFunc("POST /v1/broadcast", l.route("broadcast", l.broadcast))
	mux.HandleFunc("POST /v1/users/{user}/messages", l.route("user", l.pushUser))
	mux.HandleFunc("GET /v1/whoami", l.route("whoami", l.whoami))
	l.moderationRoutes(mux)
	l.overviewRoutes(mux)
	mux.HandleFunc("/v1/", l.route("unknown", func(w http.ResponseWriter, r *http.Request) error {
		return &httpError{http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)}
	}))
	return mux
}

// roomInfo adds the room's moderation settings to protocol.RoomInfo.
type roomInfo struct {
	protocol.RoomInfo
	Settings RoomSettingsInfo `json:"settings"`
}

// httpError is a protocol error with its HTTP status.
type httpError struct {
	status int
	err    *protocol.CodeError
}

func (e *httpError) Error() string { return e.err.Error() }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, protocol.Errorf(protocol.CodeBadRequest, format, args...)}
}

// route wraps a handler with authentication (an API key or a JWT), the
// roles' access rules (access.go), error rendering and metrics.
func (l *Logic) route(name string, h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := l.authorize(r)
		if err == nil {
			err = permit(p, name, r)
		}
		if err == nil {
			ctx, cancel := context.WithTimeout(r.Context(), l.cfg.RequestTimeout)
			defer cancel()
			r = withPrincipal(r.WithContext(ctx), p)
			r.Body = http.MaxBytesReader(w, r.Body, l.cfg.MaxBodyBytes)
			err = h(w, r)
		}
		status := http.StatusOK
		if err != nil {
			status = l.writeError(w, err)
		}
		l.metrics.APIRequests.WithLabelValues(name, strconv.Itoa(status)).Inc()
	}
}

func (l *Logic) writeError(w http.ResponseWriter, err error) int {
	var he *httpError
	var ce *protocol.CodeError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &ce):
		he = &httpError{statusFor(ce.Code), ce}
	case errors.Is(err, context.DeadlineExceeded):
		l.log.Warn("api request timed out", "timeout", l.cfg.RequestTimeout, "err", err)
		he = &httpError{http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeUnavailable, "the store did not answer within %s; retry", l.cfg.RequestTimeout)}
	default:
		l.log.Error("api request failed", "err", err)
		l.metrics.StoreFailed(metrics.StoreErrorAPI)
		he = &httpError{http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeUnavailable, "the store is unavailable; retry")}
	}
	if he.err.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((he.err.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, he.status, protocol.APIError{Error: protocol.ErrorDetail{Code: he.err.Code, Message: he.err.Message}})
	return he.status
}

func statusFor(code string) int {
	switch code {
	case protocol.CodeUnauthorized:
		return http.StatusUnauthorized
	case protocol.CodeForbidden, protocol.CodeMuted, protocol.CodeRoomClosed, protocol.CodeBlockedContent:
		return http.StatusForbidden
	case protocol.CodeRateLimited, protocol.CodeSlowMode:
		return http.StatusTooManyRequests
	case protocol.CodeNotFound:
		return http.StatusNotFound
	case protocol.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case protocol.CodeDuplicate:
		return http.StatusConflict
	case protocol.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decodeRequest reads a publish body: one JSON object with 1–1000 messages.
func decodeRequest(r *http.Request) (*protocol.PublishRequest, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &httpError{http.StatusRequestEntityTooLarge, protocol.Errorf(protocol.CodeTooLarge, "request body is larger than %d bytes", tooBig.Limit)}
		}
		return nil, badRequest("reading the body: %v", err)
	}
	return DecodePublish(data)
}

// DecodePublish parses and checks the shape of a publish request body.
func DecodePublish(data []byte) (*protocol.PublishRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var req protocol.PublishRequest
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest("body is not a valid publish request: %v", err)
	}
	if dec.More() {
		return nil, badRequest("body has data after the JSON object")
	}
	if len(req.Messages) == 0 {
		return nil, badRequest("messages must hold 1–%d messages", protocol.MaxPublishMessages)
	}
	if len(req.Messages) > protocol.MaxPublishMessages {
		return nil, &httpError{http.StatusRequestEntityTooLarge, protocol.Errorf(protocol.CodeTooLarge, "%d messages; at most %d per request", len(req.Messages), protocol.MaxPublishMessages)}
	}
	return &req, nil
}

// records validates and encodes the messages of a publish request.
func (l *Logic) records(req *protocol.PublishRequest) ([]bus.Record, []string, error) {
	out := make([]bus.Record, len(req.Messages))
	ids := make([]string, len(req.Messages))
	for i, pm := range req.Messages {
		b := protocol.Body{
			Type: pm.Type, User: pm.User, Text: pm.Text, Mode: pm.Mode, Color: pm.Color,
			Size: pm.Size, VideoTimeMs: pm.VideoTimeMs, ReplyTo: pm.ReplyTo, Data: pm.Data,
		}
		if _, err := l.validate(&b, l.cfg.MaxTextRunes, filter.NormalizeText); err != nil {
			err.Message = "messages[" + strconv.Itoa(i) + "]: " + err.Message
			return nil, nil, &httpError{http.StatusBadRequest, err}
		}
		out[i] = l.finish(&b)
		ids[i] = b.ID
	}
	return out, ids, nil
}

func roomParam(r *http.Request) (string, error) {
	room := r.PathValue("room")
	if !protocol.ValidRoom(room) {
		return "", badRequest("room must be 1–64 characters of [A-Za-z0-9_.:-]")
	}
	return room, nil
}

func (l *Logic) publish(w http.ResponseWriter, r *http.Request) error {
	room, err := roomParam(r)
	if err != nil {
		return err
	}
	req, err := decodeRequest(r)
	if err != nil {
		return err
	}
	recs, ids, err := l.records(req)
	if err != nil {
		return err
	}
	offsets, err := l.cfg.Store.Append(r.Context(), room, recs)
	if err != nil {
		return err
	}
	l.metrics.MessagesIn.WithLabelValues("api").Add(float64(len(recs)))
	writeJSON(w, http.StatusOK, protocol.PublishResponse{Offsets: offsets, IDs: ids})
	return nil
}

func (l *Logic) broadcast(w http.ResponseWriter, r *http.Request) error {
	return l.push(w, r, func(ctx context.Context, bodies [][]byte) error {
		return l.cfg.Store.PublishBroadcast(ctx, bodies)
	})
}

func (l *Logic) pushUser(w http.ResponseWriter, r *http.Request) error {
	user := r.PathValue("user")
	if user == "" || len(user) > 128 {
		return badRequest("user must be 1–128 bytes")
	}
	return l.push(w, r, func(ctx context.Context, bodies [][]byte) error {
		return l.cfg.Store.PublishUser(ctx, user, bodies)
	})
}

func (l *Logic) push(w http.ResponseWriter, r *http.Request, publish func(context.Context, [][]byte) error) error {
	req, err := decodeRequest(r)
	if err != nil {
		return err
	}
	recs, ids, err := l.records(req)
	if err != nil {
		return err
	}
	// Pushes are not stored: the bodies travel alone.
	bodies := make([][]byte, len(recs))
	for i, rec := range recs {
		bodies[i] = rec.Body
	}
	if err := publish(r.Context(), bodies); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, protocol.DeliveredResponse{IDs: ids})
	return nil
}

// maxHistory is the most messages one history request returns.
const maxHistory = 1000

func (l *Logic) history(w http.ResponseWriter, r *http.Request) error {
	room, err := roomParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxHistory {
			return badRequest("limit must be 1–%d", maxHistory)
		}
		limit = n
	}
	var msgs []protocol.Stored
	ctx := r.Context()
	switch {
	case q.Has("since"):
		since, err := strconv.ParseUint(q.Get("since"), 10, 64)
		if err != nil {
			return badRequest("since must be an offset (an unsigned integer)")
		}
		if q.Has("from") || q.Has("to") {
			return badRequest("use since or from/to, not both")
		}
		msgs, _, err = l.cfg.Store.After(ctx, room, since, limit)
		if err != nil {
			return err
		}
	case q.Has("from") || q.Has("to"):
		from, to := time.UnixMilli(0), l.cfg.Now()
		if s := q.Get("from"); s != "" {
			ms, err := strconv.ParseInt(s, 10, 64)
			if err != nil || ms < 0 {
				return badRequest("from must be Unix milliseconds")
			}
			from = time.UnixMilli(ms)
		}
		if s := q.Get("to"); s != "" {
			ms, err := strconv.ParseInt(s, 10, 64)
			if err != nil || ms < 0 {
				return badRequest("to must be Unix milliseconds")
			}
			to = time.UnixMilli(ms)
		}
		if to.Before(from) {
			return badRequest("to is before from")
		}
		msgs, err = l.cfg.Store.Range(ctx, room, from, to, limit)
		if err != nil {
			return err
		}
	default:
		msgs, err = l.cfg.Store.Latest(ctx, room, limit)
		if err != nil {
			return err
		}
	}
	// The stored bodies are spliced, not decoded and re-encoded.
	b := make([]byte, 0, 64+len(msgs)*200)
	b = append(b, `{"room":"`...)
	b = append(b, room...)
	b = append(b, `","epoch":`...)
	b = strconv.AppendQuote(b, l.cfg.Store.Epoch(room))
	b = append(b, `,"messages":[`...)
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = protocol.AppendMessage(b, m)
	}
	b = append(b, "]}"...)
	writeRaw(w, http.StatusOK, b)
	return nil
}

func (l *Logic) roomInfo(w http.ResponseWriter, r *http.Request) error {
	room, err := roomParam(r)
	if err != nil {
		return err
	}
	last, err := l.cfg.Store.LastOffset(r.Context(), room)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, roomInfo{
		RoomInfo: protocol.RoomInfo{Room: room, Online: l.cfg.Online(room), Epoch: l.cfg.Store.Epoch(room), Offset: last},
		Settings: l.settingsInfo(room),
	})
	return nil
}
