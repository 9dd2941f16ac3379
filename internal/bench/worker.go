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
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
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

	plan     plan
	ctx      context.Context // RunWorker's: ends before close
	urls     []string        // the gateways' WebSocket URLs
	ups      [][2]*upgrade   // prepared upgrade requests per URL: [0] plain, [1] offering deflate
	addrs    []string        // host:port per URL
	sameNode [][]bool        // [gateway][API URL]: the same node
	engine   *nbio.Engine
	viewers  []*viewer
	rooms    []roomCache
	seed     maphash.Seed
	shards   []shard

	conns       atomic.Int64
	joined      atomic.Int64
	closed      atomic.Uint64
	stopping    atomic.Bool
	sending     atomic.Bool
	dialed      atomic.Bool // connect returned: every viewer.conn is set
	recordAfter atomic.Int64

	closesMu sync.Mutex // guards closes
	closes   map[string]uint64

	loops  sync.WaitGroup // ticker, pinger, refill and resume goroutines
	stopCh chan struct{}
	// goMu orders starting a resume goroutine before close waits for them.
	goMu      sync.Mutex
	stopped   bool          // guarded by goMu
	resumeSem chan struct{} // bounds resume dials in flight, as DialConcurrency does
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
	w.ctx = ctx
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
				if v.c() != nil {
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
	w.urls = p.WSURLs
	if len(w.urls) == 0 {
		w.urls = []string{p.WSURL}
	}
	for _, u := range w.urls {
		plain, addr, err := newUpgrade(u, false)
		if err != nil {
			return err
		}
		deflate, _, err := newUpgrade(u, true)
		if err != nil {
			return err
		}
		w.ups, w.addrs = append(w.ups, [2]*upgrade{plain, deflate}), append(w.addrs, addr)
	}
	w.plan = p
	w.sameNode = make([][]bool, len(w.urls))
	for g := range w.sameNode {
		w.sameNode[g] = make([]bool, len(p.APINodes))
		for a, n := range p.APINodes {
			w.sameNode[g][a] = g < len(p.GatewayNodes) && p.GatewayNodes[g] == n
		}
	}
	w.rooms = make([]roomCache, len(p.Rooms))
	w.seed = maphash.MakeSeed()
	npoll := runtime.GOMAXPROCS(0)
	w.shards = make([]shard, npoll)
	for i := range w.shards {
		w.shards[i].byGateway = make([]gatewayHists, len(w.urls))
	}
	w.resumeSem = make(chan struct{}, p.DialConcurrency)
	w.engine = nbio.NewEngine(nbio.Config{Name: "bench", NPoller: npoll})
	w.engine.OnData(func(c *nbio.Conn, data []byte) {
		if s, ok := c.Session().(*session); ok {
			s.onData(data)
		}
	})
	w.engine.OnClose(func(c *nbio.Conn, err error) {
		raceEdge.Load()
		s, ok := c.Session().(*session)
		if !ok {
			return
		}
		w.conns.Add(-1)
		if w.stopping.Load() {
			return
		}
		w.closed.Add(1)
		reason := "1006"
		if code := s.closeCode.Load(); code != 0 {
			reason = strconv.Itoa(int(code))
		}
		w.closesMu.Lock()
		if w.closes == nil {
			w.closes = map[string]uint64{}
		}
		w.closes[reason]++
		w.closesMu.Unlock()
		// A viewer that never joined failed to connect; one that did comes
		// back, as a real client would.
		if w.plan.Resume && s.v.joined.Load() {
			w.startResume(s.v, time.Now())
		}
	})
	if err := w.engine.Start(); err != nil {
		return fmt.Errorf("bench worker: start nbio: %w", err)
	}
	w.viewers = make([]*viewer, p.Count)
	for i := range w.viewers {
		g := p.First + i
		v := &viewer{w: w, index: g, room: g % len(p.Rooms)}
		v.sample = p.SampleEvery > 0 && g%p.SampleEvery == 0
		v.offer = offersDeflate(g, p.DeflateShare)
		v.target.Store(int32(g % len(w.urls)))
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
	// No TCP keep-alive probes (the bench's runs are short): Go's default
	// would cost four setsockopt calls per dial.
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	if n := len(w.plan.Sources); n > 0 {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(w.plan.Sources[v.index%n])}
	}
	t := v.target.Load()
	nc, err := d.DialContext(ctx, "tcp", w.addrs[t])
	if err != nil {
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	rest, deflated, err := w.ups[t][b2i(v.offer)].do(nc)
	if err != nil {
		_ = nc.Close()
		return nil, nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	v.deflated.Store(deflated)
	return nc, rest, nil
}

// register hands a connection to nbio and, when the plan says so, joins
// the viewer's room: afresh, or resuming after v.last in v's epoch once it
// has one. It reports whether nbio took the connection.
func (w *worker) register(v *viewer, c net.Conn, rest []byte) bool {
	nc, err := nbio.NBConn(c)
	if err != nil {
		_ = c.Close()
		w.log.Warn("bench worker: nbio conn", "err", err)
		return false
	}
	if v.shard == nil {
		v.shard = &w.shards[nc.Hash()%len(w.shards)]
	}
	s := &session{v: v, nc: nc, wire: &v.shard.wire[b2i(v.deflated.Load())]}
	if len(rest) > 0 {
		s.partial = rest
		s.wire.bytes.Add(uint64(len(rest)))
	}
	nc.SetSession(s)
	v.conn.Store(nc)
	w.conns.Add(1)
	raceEdge.Add(1)
	if _, err := w.engine.AddConn(nc); err != nil {
		w.conns.Add(-1)
		_ = nc.Close()
		w.log.Warn("bench worker: add conn", "err", err)
		return false
	}
	if w.plan.Join {
		join := `{"op":"join","room":"` + w.plan.Rooms[v.room] + `"`
		if e := v.epoch.Load(); e != nil {
			join += `,"since":` + strconv.FormatUint(v.last.Load(), 10) + `,"epoch":` + strconv.Quote(*e)
		}
		_, _ = nc.Write(clientFrame(opText, []byte(join+"}")))
	}
	return true
}

// offersDeflate reports whether viewer i is one of the share that offer
// permessage-deflate: i·(golden ratio) mod 1 below share. That sequence is
// spread evenly along every arithmetic progression of i, so the share
// holds, within a viewer or two, over all viewers, over a room's (viewer i
// is in room i mod rooms) and over the sample viewers (every
// SampleEvery-th), where every k-th viewer would line up with them and a
// hash would be off by its random spread. Rooms of a handful of viewers
// among thousands of rooms can still be all of one kind; the totals hold.
func offersDeflate(i int, share float64) bool {
	z := uint64(i) * 0x9e3779b97f4a7c15 // 2^64 ÷ the golden ratio
	return float64(z>>11)/(1<<53) < share
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// startResume brings v back on a new connection in a goroutine that
// close waits for; after close has begun it does nothing.
func (w *worker) startResume(v *viewer, closed time.Time) {
	w.goMu.Lock()
	defer w.goMu.Unlock()
	if w.stopped {
		return
	}
	v.lost.Store(true)
	v.closedAt.Store(closed.UnixNano())
	w.loops.Add(1)
	go func() {
		defer w.loops.Done()
		w.resume(v)
	}()
}

// resume dials the URLs after v's last one in turn, with jittered
// exponential backoff (100 ms doubling to 2 s), until one takes the
// viewer or the worker stops. The next URL first, because the last one
// has just failed; with one URL it is that one again.
func (w *worker) resume(v *viewer) {
	timeout := time.Duration(w.plan.DialTimeoutMs) * time.Millisecond
	backoff := 100 * time.Millisecond
	for {
		// Spread a node's viewers, which all lose it at once.
		if err := sleepCtx(w.ctx, backoff/2+rand.N(backoff)); err != nil {
			return
		}
		v.target.Store(int32((int(v.target.Load()) + 1) % len(w.urls)))
		select {
		case w.resumeSem <- struct{}{}:
		case <-w.ctx.Done():
			return
		}
		nc, rest, err := w.dial(w.ctx, v, timeout)
		<-w.resumeSem
		if err == nil && w.register(v, nc, rest) {
			return
		}
		if w.ctx.Err() != nil {
			return
		}
		v.shard.dialFails.Add(1)
		backoff = min(2*backoff, 2*time.Second)
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
				if c := v.c(); c != nil {
					_, _ = c.Write(clientFrame(opText, ping))
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
				if v.c() != nil {
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
				if n > 0 && v.c() != nil {
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
	r.Plain, r.Deflate = w.wireReport(0), w.wireReport(1)
	r.Resume.Landed = make([]uint64, len(w.urls))
	r.ByGateway = make([]gatewayReport, len(w.urls))
	for _, v := range w.viewers {
		r.ByGateway[v.index%len(w.urls)].Viewers++
		if v.lost.Load() {
			r.Resume.Viewers++
			if v.closedAt.Load() != 0 {
				r.Resume.NotBack++
			}
		}
	}
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
	var lat, ack, back Histogram
	same := make([]Histogram, len(w.urls))
	cross := make([]Histogram, len(w.urls))
	for i := range w.shards {
		sh := &w.shards[i]
		sh.mu.Lock()
		lat.Merge(&sh.latency)
		ack.Merge(&sh.ackLatency)
		back.Merge(&sh.back)
		r.Resume.Resumed += sh.resumed
		r.Resume.Recovered += sh.recovered
		for g := range sh.byGateway {
			gh := &sh.byGateway[g]
			same[g].Merge(&gh.same)
			cross[g].Merge(&gh.cross)
			r.ByGateway[g].Msgs += gh.msgs
			r.Resume.Landed[g] += gh.landed
		}
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
		r.Resume.DialFailures += sh.dialFails.Load()
	}
	r.Latency, r.AckLatency, r.Resume.Back = lat.sparse(), ack.sparse(), back.sparse()
	for g := range r.ByGateway {
		r.ByGateway[g].Same, r.ByGateway[g].Cross = same[g].sparse(), cross[g].sparse()
	}
	r.AckedChecked, r.AckedMissing = w.checkAcked(c.Acked)
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

// wireReport sums the shards' wire counters of kind k (0 plain, 1
// deflate) and counts the joined viewers whose connection is of that kind.
func (w *worker) wireReport(k int) wireReport {
	var r wireReport
	for i := range w.shards {
		c := &w.shards[i].wire[k]
		r.Bytes += c.bytes.Load()
		r.BatchBytes += c.batchBytes.Load()
		r.Frames += c.frames.Load()
		r.Msgs += c.msgs.Load()
	}
	for _, v := range w.viewers {
		if v.joined.Load() && b2i(v.deflated.Load()) == k {
			r.Viewers++
		}
	}
	return r
}

// checkAcked counts, over the sample viewers that joined, the
// acknowledged offsets of their room and those they never received.
func (w *worker) checkAcked(acked [][]uint64) (checked, missing uint64) {
	for _, v := range w.viewers {
		if !v.sample || !v.joined.Load() || v.room >= len(acked) {
			continue
		}
		v.shard.mu.Lock()
		seen := slices.Clone(v.seen)
		v.shard.mu.Unlock()
		slices.Sort(seen)
		for _, off := range acked[v.room] {
			checked++
			if _, ok := slices.BinarySearch(seen, off); !ok {
				missing++
			}
		}
	}
	return checked, missing
}

// close stops the loops, closes every connection and stops nbio.
func (w *worker) close() {
	w.stopping.Store(true)
	w.goMu.Lock()
	stop := w.stopCh != nil && !w.stopped
	w.stopped = true
	w.goMu.Unlock()
	if stop {
		close(w.stopCh)
		w.loops.Wait()
	}
	if w.engine != nil {
		w.engine.Stop()
	}
}
