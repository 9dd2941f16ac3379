package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lesismal/nbio"
)

// RunWorker runs one load-generator worker: it reads commands (JSON lines)
// from in and writes events to out until it has reported or in ends. The
// parent starts it as "danmaku bench --internal-worker" with pipes, or as a
// goroutine with io.Pipes. inProcess disables the CPU report (the process is
// shared).
func RunWorker(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger, inProcess bool) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &worker{log: log, out: json.NewEncoder(out), inProcess: inProcess}

	// The reader goroutine ends when in ends; the parent closes it after
	// the report, and a dead parent closes it too.
	cmds := make(chan command)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer cancel()
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), maxPipeLine)
		for sc.Scan() {
			var c command
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				w.emit(event{Ev: evFatal, Error: "bad command: " + err.Error()})
				return
			}
			select {
			case cmds <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	err := w.serve(ctx, cmds)
	if err != nil && ctx.Err() == nil {
		w.emit(event{Ev: evFatal, Error: err.Error()})
	}
	// The connections stay open until the parent, having read the report
	// and sampled our CPU, closes our input.
	select {
	case <-readDone:
	case <-time.After(2 * time.Minute):
		log.Warn("bench worker: input still open two minutes after the report")
	}
	cancel()
	w.close()
	if errors.Is(err, context.Canceled) {
		err = nil // the parent closed our input
	}
	return err
}

// worker is the state of one worker process.
type worker struct {
	log       *slog.Logger
	inProcess bool

	outMu sync.Mutex // guards out
	out   *json.Encoder

	plan    plan
	up      *upgrade
	addr    string
	engine  *nbio.Engine
	viewers []*viewer
	rooms   []roomCache
	seed    maphash.Seed
	shards  []shard

	conns       atomic.Int64
	joined      atomic.Int64
	closed      atomic.Uint64
	stopping    atomic.Bool
	sending     atomic.Bool
	dialed      atomic.Bool // connect returned: every viewer.conn is set
	recordAfter atomic.Int64

	closesMu sync.Mutex // guards closes
	closes   map[string]uint64

	loops   sync.WaitGroup // ticker, pinger and refill goroutines
	stopCh  chan struct{}
	stopped bool
}

func (w *worker) emit(e event) {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	_ = w.out.Encode(e)
}

func (w *worker) serve(ctx context.Context, cmds <-chan command) error {
	next := func() (command, error) {
		select {
		case c := <-cmds:
			return c, nil
		case <-ctx.Done():
			return command{}, ctx.Err()
		}
	}
	c, err := next()
	if err != nil {
		return err
	}
	if c.Cmd != cmdPlan || c.Plan == nil {
		return fmt.Errorf("bench worker: first command is %q, want plan", c.Cmd)
	}
	if err := w.setup(*c.Plan); err != nil {
		return err
	}
	w.emit(event{Ev: evReady})
	for {
		c, err := next()
		if err != nil {
			return err
		}
		switch c.Cmd {
		case cmdConnect:
			r := w.connect(ctx)
			w.emit(event{Ev: evConnected, Connected: &r})
		case cmdRecord:
			w.recordAfter.Store(c.RecordAfter)
		case cmdSend:
			w.sending.Store(true)
			for _, v := range w.viewers {
				if v.conn != nil {
					v.fill()
				}
			}
		case cmdStopSend:
			w.sending.Store(false)
		case cmdFinish:
			r := w.finish(ctx, c)
			w.emit(event{Ev: evReport, Report: &r})
			return nil
		default:
			return fmt.Errorf("bench worker: unknown command %q", c.Cmd)
		}
	}
}

func (w *worker) setup(p plan) error {
	if p.Count <= 0 || len(p.Rooms) == 0 {
		return errors.New("bench worker: plan has no viewers or no rooms")
	}
	p.DialConcurrency = max(p.DialConcurrency, 1)
	p.Window = max(p.Window, 1)
	if p.DialTimeoutMs <= 0 {
		p.DialTimeoutMs = 10_000
	}
	if p.JoinTimeoutMs <= 0 {
		p.JoinTimeoutMs = 30_000
	}
	if p.PingIntervalMs <= 0 {
		p.PingIntervalMs = 20_000
	}
	up, addr, err := newUpgrade(p.WSURL, p.Deflate)
	if err != nil {
		return err
	}
	w.plan, w.up, w.addr = p, up, addr
	w.rooms = make([]roomCache, len(p.Rooms))
	w.seed = maphash.MakeSeed()
	npoll := runtime.GOMAXPROCS(0)
	w.shards = make([]shard, npoll)
	w.engine = nbio.NewEngine(nbio.Config{Name: "bench", NPoller: npoll})
	w.engine.OnData(func(c *nbio.Conn, data []byte) {
		if v, ok := c.Session().(*viewer); ok {
			v.onData(data)
		}
	})
	w.engine.OnClose(func(c *nbio.Conn, err error) {
		raceEdge.Load()
		v, ok := c.Session().(*viewer)
		if !ok {
			return
		}
		w.conns.Add(-1)
		if w.stopping.Load() {
			return
		}
		w.closed.Add(1)
		reason := "1006"
		if code := v.closeCode.Load(); code != 0 {
			reason = strconv.Itoa(int(code))
		}
		w.closesMu.Lock()
		if w.closes == nil {
			w.closes = map[string]uint64{}
		}
		w.closes[reason]++
		w.closesMu.Unlock()
	})
	if err := w.engine.Start(); err != nil {
		return fmt.Errorf("bench worker: start nbio: %w", err)
	}
	w.viewers = make([]*viewer, p.Count)
	for i := range w.viewers {
		g := p.First + i
		v := &viewer{w: w, index: g, room: g % len(p.Rooms)}
		v.sample = p.SampleEvery > 0 && g%p.SampleEvery == 0
		w.viewers[i] = v
	}
	w.stopCh = make(chan struct{})
	w.loops.Add(3)
	go func() { defer w.loops.Done(); w.tickLoop() }()
	go func() { defer w.loops.Done(); w.pingLoop() }()
	go func() { defer w.loops.Done(); w.refillLoop() }()
	return nil
}

// connect dials every viewer, DialConcurrency at a time, and (when the
// plan joins) waits for every joined reply.
func (w *worker) connect(ctx context.Context) connected {
	start := time.Now()
	type heldConn struct {
		v    *viewer
		nc   net.Conn
		rest []byte
	}
	var (
		mu       sync.Mutex // guards the fields below
		hs       Histogram
		failed   int
		lastDone time.Time
		errs     = map[string]int{}
		held     []heldConn
	)
	var wg sync.WaitGroup
	timeout := time.Duration(w.plan.DialTimeoutMs) * time.Millisecond
	sem := make(chan struct{}, w.plan.DialConcurrency)
dial:
	for _, v := range w.viewers {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break dial
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			nc, rest, err := w.dial(ctx, v, timeout)
			done := time.Now()
			mu.Lock()
			if err != nil {
				failed++
				errs[dialErrorKind(err)]++
				mu.Unlock()
				return
			}
			hs.Record(done.Sub(t0))
			lastDone = done
			if !w.plan.Join {
				held = append(held, heldConn{v, nc, rest})
				mu.Unlock()
				return
			}
			mu.Unlock()
			w.register(v, nc, rest)
		}()
	}
	wg.Wait()
	defer w.dialed.Store(true)
	r := connected{Handshakes: int(hs.N), Failed: failed, Errors: errs, Handshake: hs.sparse()}
	if !lastDone.IsZero() {
		r.ElapsedNs = lastDone.Sub(start).Nanoseconds()
	}
	// A storm's connections join the pollers only after the timed part.
	for _, h := range held {
		w.register(h.v, h.nc, h.rest)
	}
	if w.plan.Join {
		deadline := time.Now().Add(time.Duration(w.plan.JoinTimeoutMs) * time.Millisecond)
		for w.joined.Load() < int64(r.Handshakes) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		r.Joined = int(w.joined.Load())
		r.JoinedNs = time.Since(start).Nanoseconds()
		if r.Joined < r.Handshakes {
			w.log.Warn("bench worker: not every viewer joined", "joined", r.Joined, "connected", r.Handshakes)
		}
	}
	return r
}

// dial opens one connection from the viewer's source address and upgrades
// it.
func (w *worker) dial(ctx context.Context, v *viewer, timeout time.Duration) (net.Conn, []byte, error) {
	d := net.Dialer{Timeout: timeout}
	if n := len(w.plan.Sources); n > 0 {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(w.plan.Sources[v.index%n])}
	}
	nc, err := d.DialContext(ctx, "tcp", w.addr)
	if err != nil {
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	rest, err := w.up.do(nc)
	if err != nil {
		_ = nc.Close()
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return nc, rest, nil
}

// register hands a connection to nbio and, when the plan says so, joins
// the viewer's room.
func (w *worker) register(v *viewer, c net.Conn, rest []byte) {
	nc, err := nbio.NBConn(c)
	if err != nil {
		_ = c.Close()
		w.log.Warn("bench worker: nbio conn", "err", err)
		return
	}
	v.conn = nc
	v.shard = &w.shards[nc.Hash()%len(w.shards)]
	if len(rest) > 0 {
		v.partial = rest
	}
	nc.SetSession(v)
	w.conns.Add(1)
	raceEdge.Add(1)
	if _, err := w.engine.AddConn(nc); err != nil {
		w.conns.Add(-1)
		_ = nc.Close()
		w.log.Warn("bench worker: add conn", "err", err)
		return
	}
	if w.plan.Join {
		join := []byte(`{"op":"join","room":"` + w.plan.Rooms[v.room] + `"}`)
		_, _ = nc.Write(clientFrame(opText, join))
	}
}

// dialErrorKind shortens a dial error to a countable kind.
func dialErrorKind(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return errno.Error()
	case errors.Is(err, errHandshake):
		return err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout or cancelled"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return err.Error()
}

// tickLoop reports the counters once a second.
func (w *worker) tickLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			tk := w.counters()
			w.emit(event{Ev: evTick, Tick: &tk})
		case <-w.stopCh:
			return
		}
	}
}

func (w *worker) counters() tick {
	tk := tick{Conns: w.conns.Load(), Joined: w.joined.Load(), Closed: w.closed.Load()}
	for i := range w.shards {
		sh := &w.shards[i]
		tk.Msgs += sh.msgs.Load()
		tk.Frames += sh.frames.Load()
		tk.Bytes += sh.bytes.Load()
		tk.Sent += sh.sent.Load()
		tk.Acks += sh.acks.Load()
		tk.Nacks += sh.nacks.Load()
	}
	return tk
}

// pingLoop keeps every connection inside the server's idle timeout.
func (w *worker) pingLoop() {
	t := time.NewTicker(time.Duration(w.plan.PingIntervalMs) * time.Millisecond)
	defer t.Stop()
	ping := []byte(`{"op":"ping"}`)
	for {
		select {
		case <-t.C:
			if !w.dialed.Load() {
				continue
			}
			for _, v := range w.viewers {
				if v.conn != nil {
					_, _ = v.conn.Write(clientFrame(opText, ping))
				}
			}
		case <-w.stopCh:
			return
		}
	}
}

// refillLoop sends for paced ingress connections whose next send is due,
// and restarts those whose window emptied on nacks.
func (w *worker) refillLoop() {
	every := 100 * time.Millisecond
	if iv := time.Duration(w.plan.SendIntervalNs); iv > 0 {
		every = min(every, max(iv/10, time.Millisecond))
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if !w.sending.Load() || !w.dialed.Load() {
				continue
			}
			for _, v := range w.viewers {
				if v.conn != nil {
					v.fill()
				}
			}
		case <-w.stopCh:
			return
		}
	}
}

// finish waits until every viewer has its room's expected count (or the
// drain time passes), then reports.
func (w *worker) finish(ctx context.Context, c command) workerReport {
	w.sending.Store(false)
	deadline := time.Now().Add(time.Duration(c.DrainMs) * time.Millisecond)
	complete := func() bool {
		if len(c.Expected) == 0 {
			// Ingress: wait for the sends in flight.
			for _, v := range w.viewers {
				v.sendMu.Lock()
				n := v.inflight
				v.sendMu.Unlock()
				if n > 0 && v.conn != nil {
					return false
				}
			}
			return true
		}
		for _, v := range w.viewers {
			if v.joined.Load() && v.msgs.Load() < c.Expected[v.room] {
				return false
			}
		}
		return true
	}
	for !complete() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	w.stopping.Store(true)
	r := workerReport{Final: w.counters()}
	if len(c.Expected) > 0 {
		for _, v := range w.viewers {
			if !v.joined.Load() {
				continue
			}
			got, want := v.msgs.Load(), c.Expected[v.room]
			switch {
			case got < want:
				r.ViewersShort++
				r.Missing += want - got
			case got > want:
				r.ViewersOver++
			}
		}
	}
	var lat, ack Histogram
	for i := range w.shards {
		sh := &w.shards[i]
		sh.mu.Lock()
		lat.Merge(&sh.latency)
		ack.Merge(&sh.ackLatency)
		r.Gaps += sh.gaps
		r.Duplicates += sh.dups
		r.SampleMsgs += sh.sampleMsgs
		for k, n := range sh.nackCodes {
			if r.NackCodes == nil {
				r.NackCodes = map[string]uint64{}
			}
			r.NackCodes[k] += n
		}
		sh.mu.Unlock()
		r.Malformed += sh.malformed.Load()
	}
	r.Latency, r.AckLatency = lat.sparse(), ack.sparse()
	for _, v := range w.viewers {
		if v.sample && v.joined.Load() {
			r.SampleViewers++
		}
	}
	w.closesMu.Lock()
	r.Closes = w.closes
	w.closesMu.Unlock()
	if !w.inProcess {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			r.CPUNs = ru.Utime.Nano() + ru.Stime.Nano()
		}
	}
	return r
}

// close stops the loops, closes every connection and stops nbio.
func (w *worker) close() {
	w.stopping.Store(true)
	if w.stopCh != nil && !w.stopped {
		w.stopped = true
		close(w.stopCh)
		w.loops.Wait()
	}
	if w.engine != nil {
		w.engine.Stop()
	}
}
