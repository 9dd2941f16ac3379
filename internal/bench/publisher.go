package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// publisher posts messages to rooms through the HTTP API at a steady rate:
// request k leaves at start + k·batch/rate, for room k mod len(rooms), with
// batch messages. Each message carries its send time in data.t (unix ns),
// which viewers subtract from their receive time.
type publisher struct {
	apiURL, apiKey string
	rooms          []string
	rate           float64 // messages per second
	batch          int     // messages per request
	concurrency    int     // requests in flight at most

	client *http.Client

	published []atomic.Uint64 // stored messages, per room index
	requests  atomic.Uint64
	messages  atomic.Uint64
	failures  atomic.Uint64
	seq       atomic.Uint64
	maxLag    atomic.Int64 // ns a request left after its scheduled time, worst case

	errMu    sync.Mutex // guards firstErr and requestLatency
	firstErr string
	// requestLatency is each successful request's round trip: validate,
	// store in JetStream, answer.
	requestLatency Histogram
}

func newPublisher(apiURL, apiKey string, rooms []string, rate float64, batch, concurrency int) *publisher {
	return &publisher{
		apiURL: apiURL, apiKey: apiKey, rooms: rooms, rate: rate, batch: batch, concurrency: concurrency,
		client: &http.Client{
			Timeout: 10 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency,
				IdleConnTimeout: 30 * time.Second, DisableCompression: true,
			},
		},
		published: make([]atomic.Uint64, len(rooms)),
	}
}

// run publishes for d and returns when every request has ended.
func (p *publisher) run(ctx context.Context, d time.Duration) {
	jobs := make(chan int, p.concurrency)
	var wg sync.WaitGroup
	for range p.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for room := range jobs {
				p.post(ctx, room)
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
		p.client.CloseIdleConnections()
	}()
	interval := time.Duration(float64(p.batch) / p.rate * float64(time.Second))
	start := time.Now()
	end := start.Add(d)
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
		case jobs <- k % len(p.rooms):
		case <-ctx.Done():
			return
		}
		if lag := time.Since(due); int64(lag) > p.maxLag.Load() {
			p.maxLag.Store(int64(lag))
		}
	}
}

// post sends one request of batch messages to room i.
func (p *publisher) post(ctx context.Context, i int) {
	body := make([]byte, 0, 16+p.batch*64)
	body = append(body, `{"messages":[`...)
	now := time.Now().UnixNano()
	for j := range p.batch {
		if j > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"text":"bench","data":{"t":`...)
		body = strconv.AppendInt(body, now, 10)
		body = append(body, `,"seq":`...)
		body = strconv.AppendUint(body, p.seq.Add(1), 10)
		body = append(body, "}}"...)
	}
	body = append(body, "]}"...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.apiURL+"/v1/rooms/"+p.rooms[i]+"/messages", bytes.NewReader(body))
	if err != nil {
		p.fail(err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+p.apiKey)
	req.Header.Set("Content-Type", "application/json")
	p.requests.Add(1)
	sent := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		p.fail(err)
		return
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		p.fail(err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		p.fail(fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data)))
		return
	}
	var pr protocol.PublishResponse
	if err := json.Unmarshal(data, &pr); err != nil {
		p.fail(err)
		return
	}
	p.errMu.Lock()
	p.requestLatency.Record(time.Since(sent))
	p.errMu.Unlock()
	n := uint64(len(pr.Offsets))
	p.published[i].Add(n)
	p.messages.Add(n)
}

func (p *publisher) fail(err error) {
	p.failures.Add(1)
	p.errMu.Lock()
	if p.firstErr == "" {
		p.firstErr = err.Error()
	}
	p.errMu.Unlock()
}

// expected returns the stored count per room.
func (p *publisher) expected() []uint64 {
	out := make([]uint64, len(p.published))
	for i := range p.published {
		out[i] = p.published[i].Load()
	}
	return out
}
