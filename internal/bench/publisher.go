package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/danmaku/danmaku/internal/bench/corpus"
	"github.com/danmaku/danmaku/protocol"
)

// publisher posts messages to rooms through the HTTP API at a steady rate:
// request k leaves at start + k·batch/rate, for room k mod len(rooms), with
// batch messages. Each message carries its send time in data.t (unix ns),
// which viewers subtract from their receive time, and the index of the API
// URL it went through in data.via, which tells them whether it crossed
// nodes.
//
// With several API URLs, the c-th request of room r goes to URL (c+r) mod
// n, so that every room is published through every node whatever the
// numbers of rooms and URLs. A URL whose request failed without an HTTP
// answer (a dead node) is skipped for apiDownFor, as a load balancer's
// health check would; the failed request is not retried, since its
// messages may have been stored.
type publisher struct {
	apiURLs     []string
	apiKey      string
	rooms       []string
	rate        float64 // messages per second; negative: as fast as answers return
	batch       int     // messages per request
	concurrency int     // requests in flight at most
	// text is the text of message seq, JSON-encoded.
	text func(seq uint64) []byte

	clients []*fasthttp.HostClient // one per API URL

	published []atomic.Uint64 // stored messages, per room index
	requests  atomic.Uint64
	messages  atomic.Uint64
	failures  atomic.Uint64
	seq       atomic.Uint64
	maxLag    atomic.Int64 // ns a request left after its scheduled time, worst case
	apis      []apiCounters

	errMu    sync.Mutex // guards firstErr, requestLatency and acked
	firstErr string
	// requestLatency is each successful request's round trip: validate,
	// store in JetStream, answer.
	requestLatency Histogram
	// acked holds, per room index, the offsets the API answered with.
	acked [][]uint64
}

// apiCounters are one API URL's share of the requests.
type apiCounters struct {
	requests, messages, failures atomic.Uint64
	downUntil                    atomic.Int64 // unix ns; skipped before
	latency                      Histogram    // guarded by publisher.errMu
}

// apiDownFor is how long an API URL that did not answer is skipped.
const apiDownFor = time.Second

// requestTimeout bounds one publish request.
const requestTimeout = 10 * time.Second

func newPublisher(apiURLs []string, apiKey string, rooms []string, rate float64, batch, concurrency int, text func(seq uint64) []byte) *publisher {
	clients := make([]*fasthttp.HostClient, len(apiURLs))
	for i, u := range apiURLs {
		clients[i] = apiClient(strings.TrimPrefix(u, "http://"), concurrency)
	}
	return &publisher{
		clients: clients,
		apiURLs: apiURLs, apiKey: apiKey, rooms: rooms, rate: rate, batch: batch, concurrency: concurrency, text: text,
		apis: make([]apiCounters, len(apiURLs)), acked: make([][]uint64, len(rooms)),
		published: make([]atomic.Uint64, len(rooms)),
	}
}

// apiClient is the HTTP client of one API address: fasthttp rather than
// net/http, because the publisher shares the host with the server it
// measures, and net/http's client took ~100 µs of CPU per request here, as
// much as the server's side of it. A HostClient rather than fasthttp.Client,
// whose host-map cleaner sleeps for seconds after the last request: the
// HostClient's idle-connection cleaner ends within idleConn of the last
// connection closing (run closes them all when it returns), and the dialer
// is ours, since fasthttp's default one starts a process-wide goroutine
// that never ends.
func apiClient(addr string, concurrency int) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:     addr,
		MaxConns: concurrency,
		// Well under the server's keep-alive idle timeout
		// (--handshake-timeout, 5 s by default; internal/gateway/engine.go):
		// a POST sent on a connection the server is closing fails with a
		// reset, and is not retried (fasthttp retries only idempotent
		// requests).
		MaxIdleConnDuration:           idleConn,
		ReadTimeout:                   requestTimeout,
		WriteTimeout:                  requestTimeout,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		Dial: func(addr string) (net.Conn, error) {
			return (&net.Dialer{Timeout: requestTimeout}).Dial("tcp", addr)
		},
	}
}

// idleConn is how long a publisher's idle keep-alive connection is kept.
const idleConn = 100 * time.Millisecond

// texts returns the publisher's text function for cfg: its fixed Text, or
// the corpus of its TextSeed.
func texts(cfg *Config) func(seq uint64) []byte {
	if cfg.Text != "" {
		fixed := jsonString(cfg.Text)
		return func(uint64) []byte { return fixed }
	}
	c := corpus.New(cfg.TextSeed)
	return func(seq uint64) []byte { return jsonString(c.Text(seq)) }
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}

// run publishes for d and returns when every request has ended.
func (p *publisher) run(ctx context.Context, d time.Duration) {
	type job struct{ room, api int }
	jobs := make(chan job, p.concurrency)
	var wg sync.WaitGroup
	for range p.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				p.post(ctx, j.room, j.api)
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
		for _, c := range p.clients {
			c.CloseIdleConnections()
		}
	}()
	start := time.Now()
	end := start.Add(d)
	if p.rate < 0 {
		p.closedLoop(ctx, end)
		return
	}
	interval := time.Duration(float64(p.batch) / p.rate * float64(time.Second))
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k := 0; ; k++ {
		due := start.Add(time.Duration(k) * interval)
		if !due.Before(end) {
			_ = sleepCtx(ctx, time.Until(end)) // the window is the whole duration
			return
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		select {
		case jobs <- job{k % len(p.rooms), p.apiFor(k)}:
		case <-ctx.Done():
			return
		}
		if lag := time.Since(due); int64(lag) > p.maxLag.Load() {
			p.maxLag.Store(int64(lag))
		}
	}
}

// closedLoop is run's schedule for a negative rate: each of the
// concurrency requests in flight is followed by the next as soon as it is
// answered, until end, so that the server's answers set the pace. Request
// k goes to room k mod len(rooms), as on the steady schedule.
func (p *publisher) closedLoop(ctx context.Context, end time.Time) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range p.concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				k := int(next.Add(1) - 1)
				p.post(ctx, k%len(p.rooms), p.apiFor(k))
			}
		})
	}
	wg.Wait()
}

// apiFor is the API URL index of request k: the c-th request of room r
// goes to (c+r) mod n, skipping URLs marked down.
func (p *publisher) apiFor(k int) int {
	room := k % len(p.rooms)
	return p.pickAPI(k/len(p.rooms) + room)
}

// pickAPI returns API URL index n mod len, or the next one not marked
// down; if every one is down, n mod len anyway.
func (p *publisher) pickAPI(n int) int {
	now := time.Now().UnixNano()
	for i := range p.apiURLs {
		a := (n + i) % len(p.apiURLs)
		if p.apis[a].downUntil.Load() <= now {
			return a
		}
	}
	return n % len(p.apiURLs)
}

// post sends one request of batch messages to room i through API URL a.
func (p *publisher) post(ctx context.Context, i, a int) {
	body := make([]byte, 0, 16+p.batch*128)
	body = append(body, `{"messages":[`...)
	now := time.Now().UnixNano()
	for j := range p.batch {
		if j > 0 {
			body = append(body, ',')
		}
		seq := p.seq.Add(1)
		body = append(body, `{"text":`...)
		body = append(body, p.text(seq)...)
		body = append(body, `,"data":{"t":`...)
		body = strconv.AppendInt(body, now, 10)
		body = append(body, `,"via":`...)
		body = strconv.AppendInt(body, int64(a), 10)
		body = append(body, `,"seq":`...)
		body = strconv.AppendUint(body, seq, 10)
		body = append(body, "}}"...)
	}
	body = append(body, "]}"...)
	api := &p.apis[a]
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(p.apiURLs[a] + "/v1/rooms/" + p.rooms[i] + "/messages")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.Set("Authorization", "Bearer "+p.apiKey)
	req.Header.SetContentType("application/json")
	req.SetBodyRaw(body)
	p.requests.Add(1)
	api.requests.Add(1)
	sent := time.Now()
	if err := p.clients[a].DoTimeout(req, resp, requestTimeout); err != nil {
		if ctx.Err() == nil {
			api.downUntil.Store(time.Now().Add(apiDownFor).UnixNano())
		}
		p.fail(api, err)
		return
	}
	data := resp.Body()
	if resp.StatusCode() != fasthttp.StatusOK {
		p.fail(api, fmt.Errorf("HTTP %d: %s", resp.StatusCode(), bytes.TrimSpace(data)))
		return
	}
	var pr protocol.PublishResponse
	if err := json.Unmarshal(data, &pr); err != nil {
		p.fail(api, err)
		return
	}
	took := time.Since(sent)
	p.errMu.Lock()
	p.requestLatency.Record(took)
	api.latency.Record(took)
	p.acked[i] = append(p.acked[i], pr.Offsets...)
	p.errMu.Unlock()
	n := uint64(len(pr.Offsets))
	p.published[i].Add(n)
	p.messages.Add(n)
	api.messages.Add(n)
}

func (p *publisher) fail(api *apiCounters, err error) {
	p.failures.Add(1)
	api.failures.Add(1)
	p.errMu.Lock()
	if p.firstErr == "" {
		p.firstErr = err.Error()
	}
	p.errMu.Unlock()
}

// ackedOffsets returns, per room index, the acknowledged offsets in
// ascending order (requests to one room may be answered out of order).
func (p *publisher) ackedOffsets() [][]uint64 {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	out := make([][]uint64, len(p.acked))
	for i, a := range p.acked {
		out[i] = slices.Sorted(slices.Values(a))
	}
	return out
}

// expected returns the stored count per room.
func (p *publisher) expected() []uint64 {
	out := make([]uint64, len(p.published))
	for i := range p.published {
		out[i] = p.published[i].Load()
	}
	return out
}
