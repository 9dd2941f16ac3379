package bench

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Run runs one scenario and returns its summary. It returns an error when
// the run itself failed: bad config, setup, a server or worker that died,
// or ctx ending. Missed goals are reported in the summary; with
// Config.Check they also return ErrGoalsMissed, with the summary.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	spec, _ := scenarioByName(cfg.Scenario) // withDefaults checked the name
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &runner{cfg: cfg, spec: spec, log: cfg.Logger, cancel: cancel, started: time.Now()}
	defer r.cleanup()
	s, err := r.run(ctx)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, err) && ctx.Err() != nil {
			err = cause
		}
		return nil, err
	}
	if cfg.Check && !s.GoalsMet {
		return s, ErrGoalsMissed
	}
	return s, nil
}

// runner is the parent of one run. It owns the server (if it started it),
// the workers and the monitor goroutine, and stops them all in cleanup.
type runner struct {
	cfg     Config
	spec    scenarioSpec
	log     *slog.Logger
	cancel  context.CancelCauseFunc
	started time.Time

	wsURL, apiURL, apiKey string
	serverPID             int
	srv                   *childServer
	workers               []*workerHandle
	rooms                 []string
	pub                   atomic.Pointer[publisher]

	phase    atomic.Value // string, for progress lines
	stopping atomic.Bool  // workers are being stopped on purpose
	peakRSS  atomic.Int64

	monitorStop chan struct{}
	monitorWG   sync.WaitGroup
	cleaned     bool
}

func (r *runner) run(ctx context.Context) (*Summary, error) {
	cfg := r.cfg
	r.phase.Store("setup")
	if err := r.setupServer(ctx); err != nil {
		return nil, err
	}
	var runID [3]byte
	_, _ = crand.Read(runID[:])
	for i := range cfg.Rooms {
		r.rooms = append(r.rooms, "bench-"+hex.EncodeToString(runID[:])+"-"+strconv.Itoa(i))
	}
	sampleEvery := 0
	nSample := 0
	if r.spec.Publish {
		want := max(10, int(float64(cfg.Viewers)*cfg.SamplePercent/100+0.5))
		want = min(want, cfg.Viewers)
		sampleEvery = max(1, cfg.Viewers/want)
		nSample = (cfg.Viewers + sampleEvery - 1) / sampleEvery
	}
	if err := r.startWorkers(ctx, sampleEvery); err != nil {
		return nil, err
	}
	r.startMonitor()

	s := &Summary{Scenario: r.spec.Name}
	s.Conditions = Conditions{
		Started: r.started.UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		Server: "external", ServerArgs: cfg.ServerArgs, URL: r.wsURL,
		Viewers: cfg.Viewers, Rooms: cfg.Rooms, Duration: cfg.Duration.String(), Warmup: cfg.Warmup.String(),
		Workers: len(r.workers), Sources: cfg.Sources, SampleViewers: nSample,
		Compression: !cfg.NoCompression,
	}
	if r.srv != nil {
		s.Conditions.Server = "child"
	}
	if r.spec.Publish {
		s.Conditions.Rate, s.Conditions.Batch = cfg.Rate, cfg.Batch
	} else {
		s.Conditions.Duration, s.Conditions.Warmup = "0s", "0s"
	}
	if r.spec.Ingress {
		s.Conditions.Duration, s.Conditions.Warmup = cfg.Duration.String(), cfg.Warmup.String()
		s.Conditions.Window, s.Conditions.SendRate = cfg.Window, cfg.SendRate
	}
	s.Server.PID = r.serverPID
	s.Host.LoadAvg = loadAvg()

	// Connect.
	before := r.sampleServer()
	s.Server.RSSBeforeBytes = before.RSS
	genBefore := r.genCPU()
	r.phase.Store("connect")
	if err := r.broadcast(command{Cmd: cmdConnect}); err != nil {
		return nil, err
	}
	var hs Histogram
	for _, h := range r.workers {
		e, err := h.await(ctx, evConnected, 10*time.Minute)
		if err != nil {
			return nil, err
		}
		c := e.Connected
		s.Connect.Handshakes += c.Handshakes
		s.Connect.Failed += c.Failed
		s.Connect.Joined += c.Joined
		s.Connect.Seconds = max(s.Connect.Seconds, float64(c.ElapsedNs)/1e9)
		s.Connect.JoinSeconds = max(s.Connect.JoinSeconds, float64(c.JoinedNs)/1e9)
		hs.Merge(c.Handshake.histogram())
		for k, n := range c.Errors {
			if s.Connect.Errors == nil {
				s.Connect.Errors = map[string]int{}
			}
			s.Connect.Errors[k] += n
		}
	}
	s.Connect.Target = cfg.Viewers
	s.Connect.HandshakeLatency = latencyOf(&hs)
	if s.Connect.Seconds > 0 {
		s.Connect.HandshakesPerSec = float64(s.Connect.Handshakes) / s.Connect.Seconds
	}
	if r.spec.Storm && r.serverPID > 0 && s.Connect.Handshakes > 0 {
		defer func() {
			if s.Server.CPUSeconds > 0 {
				s.Server.CPUMicrosPerHandshake = 1e6 * s.Server.CPUSeconds / float64(s.Connect.Handshakes)
			}
		}()
	}
	if s.Connect.Handshakes == 0 {
		return nil, fmt.Errorf("bench: no connection could be opened (%v)", s.Connect.Errors)
	}
	afterConnect := r.sampleServer()
	genAfterConnect := r.genCPU()

	// The measured part.
	var win window
	var srv0, srv1 procSample
	var gen0, gen1 time.Duration
	var finish command
	switch {
	case r.spec.Publish:
		r.phase.Store("publish")
		pub := newPublisher(r.apiURL, r.apiKey, r.rooms, cfg.Rate, cfg.Batch, cfg.Publishers)
		r.pub.Store(pub)
		win.start = time.Now()
		if err := r.broadcast(command{Cmd: cmdRecord, RecordAfter: win.start.Add(cfg.Warmup).UnixNano()}); err != nil {
			return nil, err
		}
		srv0, gen0 = r.sampleServer(), r.genCPU()
		pub.run(ctx, cfg.Warmup+cfg.Duration)
		win.end = time.Now()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r.phase.Store("drain")
		finish = command{Cmd: cmdFinish, Expected: pub.expected(), DrainMs: int(cfg.Drain / time.Millisecond)}
	case r.spec.Ingress:
		r.phase.Store("send")
		start := time.Now()
		recordAfter := start.Add(cfg.Warmup)
		if err := r.broadcast(command{Cmd: cmdRecord, RecordAfter: recordAfter.UnixNano()}); err != nil {
			return nil, err
		}
		srv0, gen0 = r.sampleServer(), r.genCPU()
		if err := r.broadcast(command{Cmd: cmdSend}); err != nil {
			return nil, err
		}
		if err := sleepCtx(ctx, cfg.Warmup+cfg.Duration); err != nil {
			return nil, err
		}
		if err := r.broadcast(command{Cmd: cmdStopSend}); err != nil {
			return nil, err
		}
		win = window{recordAfter, time.Now()}
		r.phase.Store("drain")
		finish = command{Cmd: cmdFinish, DrainMs: int(cfg.Drain / time.Millisecond)}
	default: // idle and storm: let the connections rest, then read RSS
		r.phase.Store("settle")
		if err := sleepCtx(ctx, cfg.Settle); err != nil {
			return nil, err
		}
		finish = command{Cmd: cmdFinish}
	}
	settled := r.sampleServer()
	if err := r.broadcast(finish); err != nil {
		return nil, err
	}
	reports := make([]*workerReport, len(r.workers))
	for i, h := range r.workers {
		e, err := h.await(ctx, evReport, cfg.Drain+2*time.Minute)
		if err != nil {
			return nil, err
		}
		reports[i] = e.Report
	}
	if r.spec.Publish || r.spec.Ingress {
		srv1, gen1 = r.sampleServer(), r.genCPU()
	} else {
		// Idle and storm: the window is the connect.
		win = window{r.started, r.started}
		srv0, srv1, gen0, gen1 = before, afterConnect, genBefore, genAfterConnect
	}
	r.phase.Store("stop")
	r.stopMonitor()
	var workerCPU time.Duration
	for _, rep := range reports {
		workerCPU += time.Duration(rep.CPUNs)
	}
	r.stopWorkers()
	if err := r.stopServer(); err != nil {
		return nil, err
	}
	r.assemble(s, reports, win, settled, srv0, srv1, gen0, gen1, workerCPU)
	return s, nil
}

// assemble fills the summary from the reports and samples.
func (r *runner) assemble(s *Summary, reports []*workerReport, win window, settled, srv0, srv1 procSample, gen0, gen1, workerCPU time.Duration) {
	cfg := r.cfg
	var final tick
	var lat, ack Histogram
	closes := map[string]uint64{}
	nacks := map[string]uint64{}
	d := &Delivery{}
	for _, rep := range reports {
		f := rep.Final
		final.Msgs += f.Msgs
		final.Frames += f.Frames
		final.Sent += f.Sent
		final.Acks += f.Acks
		final.Nacks += f.Nacks
		final.Closed += f.Closed
		lat.Merge(rep.Latency.histogram())
		ack.Merge(rep.AckLatency.histogram())
		d.SampleViewers += rep.SampleViewers
		d.SampleMsgs += rep.SampleMsgs
		d.Gaps += rep.Gaps
		d.Duplicates += rep.Duplicates
		d.ViewersShort += rep.ViewersShort
		d.ViewersOver += rep.ViewersOver
		d.Missing += rep.Missing
		d.Malformed += rep.Malformed
		for k, n := range rep.Closes {
			closes[k] += n
		}
		for k, n := range rep.NackCodes {
			nacks[k] += n
		}
	}
	if r.spec.Publish {
		p := r.pub.Load()
		s.Publish = &PublishStats{
			Messages: p.messages.Load(), Requests: p.requests.Load(), Failures: p.failures.Load(),
			MaxLagMs: float64(p.maxLag.Load()) / 1e6, FirstError: p.firstErr,
			RequestLatency: latencyOf(&p.requestLatency),
		}
		secs := win.seconds()
		s.Publish.PerSec = float64(s.Publish.Messages) / secs
		for room, n := range p.expected() {
			d.Expected += n * uint64(membersOf(room, cfg.Viewers, cfg.Rooms))
		}
		d.Received, d.Frames = final.Msgs, final.Frames
		if d.Expected > 0 {
			d.Ratio = float64(d.Received) / float64(d.Expected)
		}
		d.DeliveriesPerSec = float64(d.Received) / secs
		d.FramesPerSec = float64(d.Frames) / secs
		if d.Frames > 0 {
			d.MsgsPerFrame = float64(d.Received) / float64(d.Frames)
		}
		if len(closes) > 0 {
			d.Closes = closes
		}
		s.Delivery = d
		l := latencyOf(&lat)
		s.Latency = &l
		if p.failures.Load() > 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%d publish requests failed: %s", p.failures.Load(), p.firstErr))
		}
		if interval := time.Duration(float64(cfg.Batch) / cfg.Rate * float64(time.Second)); time.Duration(p.maxLag.Load()) > max(interval, 100*time.Millisecond) {
			s.Warnings = append(s.Warnings, fmt.Sprintf("the publisher fell behind its schedule by up to %.0f ms", float64(p.maxLag.Load())/1e6))
		}
	}
	if r.spec.Ingress {
		in := &IngressStats{Sent: final.Sent, Accepted: final.Acks, Nacked: final.Nacks, AckLatency: latencyOf(&ack)}
		if cfg.SendRate > 0 {
			in.OfferedPerSec = cfg.SendRate * float64(s.Connect.Joined)
		}
		if secs := win.seconds(); secs > 0 {
			in.AcceptedPerSec = float64(ack.N) / secs
		}
		if len(nacks) > 0 {
			in.NackCodes = nacks
		}
		s.Ingress = in
	}
	if !r.spec.Publish && len(nacks) > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("error replies: %v", nacks))
	}
	if final.Closed > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d connections were closed by the server or the network: %v", final.Closed, closes))
	}
	if s.Connect.Failed > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d of %d connections failed", s.Connect.Failed, cfg.Viewers))
	}
	if r.spec.Join && s.Connect.Joined < s.Connect.Handshakes {
		s.Warnings = append(s.Warnings, fmt.Sprintf("only %d of %d connections got their joined reply", s.Connect.Joined, s.Connect.Handshakes))
	}

	sv := &s.Server
	if r.serverPID > 0 {
		sv.RSSAfterBytes = settled.RSS
		sv.RSSPeakBytes = max(r.peakRSS.Load(), settled.RSS, srv1.RSS)
		if s.Connect.Handshakes > 0 {
			sv.RSSPerConnBytes = float64(settled.RSS-sv.RSSBeforeBytes) / float64(s.Connect.Handshakes)
		}
		wall := srv1.At.Sub(srv0.At)
		sv.CPUSeconds = (srv1.CPU - srv0.CPU).Seconds()
		if wall > 0 {
			sv.CPUPercent = 100 * sv.CPUSeconds / wall.Seconds()
		}
		if r.spec.Ingress && final.Acks > 0 {
			sv.CPUMicrosPerAccepted = 1e6 * sv.CPUSeconds / float64(final.Acks)
		}
		if r.spec.Publish && s.Delivery.Received > 0 {
			sv.CPUSecPerMillionDeliveries = sv.CPUSeconds / (float64(s.Delivery.Received) / 1e6)
		}
	}
	s.Host.BusyPercent = hostBusy(srv0, srv1)
	wall := srv1.At.Sub(srv0.At)
	s.LoadGen.CPUSeconds = (gen1 - gen0).Seconds()
	if wall > 0 {
		s.LoadGen.CPUPercent = 100 * s.LoadGen.CPUSeconds / wall.Seconds()
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.LoadGen.TotalCPUSeconds = (workerCPU + time.Duration(ru.Utime.Nano()+ru.Stime.Nano())).Seconds()
	}
	s.Goals = goals(r.spec, s)
	s.GoalsMet = true
	for _, g := range s.Goals {
		s.GoalsMet = s.GoalsMet && g.Met
	}
}

// membersOf is the number of viewers in room (viewer i joins i mod rooms).
func membersOf(room, viewers, rooms int) int {
	n := viewers / rooms
	if room < viewers%rooms {
		n++
	}
	return n
}

// setupServer starts a server or checks the one given.
func (r *runner) setupServer(ctx context.Context) error {
	cfg := r.cfg
	if cfg.URL == "" {
		srv, err := startServer(ctx, cfg.ServerCommand, cfg.ServerArgs, cfg.Stderr, r.log)
		if err != nil {
			return err
		}
		r.srv = srv
		r.wsURL = "ws" + strings.TrimPrefix(srv.url, "http") + "/ws"
		r.apiURL, r.apiKey, r.serverPID = srv.url, srv.apiKey, srv.pid()
		return nil
	}
	ws, api, err := targetURLs(cfg.URL, cfg.APIURL)
	if err != nil {
		return err
	}
	for _, u := range []string{ws, api} {
		if err := checkLoopback(ctx, u); err != nil {
			return err
		}
	}
	r.wsURL, r.apiURL, r.apiKey, r.serverPID = ws, api, cfg.APIKey, cfg.ServerPID
	if r.spec.Publish && r.apiKey == "" {
		return errors.New("bench: --api-key is required with --url for publishing scenarios")
	}
	return waitReady(ctx, api, 10*time.Second, nil)
}

// targetURLs derives the WebSocket and API URLs from the --url and
// --api-url flags.
func targetURLs(raw, apiRaw string) (ws, api string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("bench: bad --url %q", raw)
	}
	switch u.Scheme {
	case "ws", "http":
	default:
		return "", "", fmt.Errorf("bench: --url must be ws:// or http:// (loopback, no TLS): %q", raw)
	}
	path := u.Path
	if path == "" || path == "/" || u.Scheme == "http" {
		path = strings.TrimSuffix(path, "/")
		if !strings.HasSuffix(path, "/ws") {
			path += "/ws"
		}
	}
	ws = "ws://" + u.Host + path
	api = "http://" + u.Host
	if apiRaw != "" {
		a, err := url.Parse(apiRaw)
		if err != nil || a.Scheme != "http" || a.Host == "" {
			return "", "", fmt.Errorf("bench: bad --api-url %q (http:// only)", apiRaw)
		}
		api = "http://" + a.Host + strings.TrimSuffix(a.Path, "/")
	}
	return ws, api, nil
}

// checkLoopback refuses URLs whose host is not a loopback address.
func checkLoopback(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return fmt.Errorf("bench: resolve %q: %w", host, err)
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	if len(ips) == 0 {
		return fmt.Errorf("%w: %s", ErrNotLoopback, host)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("%w: %s (%s)", ErrNotLoopback, host, ip)
		}
	}
	return nil
}

// startWorkers splits the viewers over workers of at most PerWorker
// connections, sends each its plan and waits until all are ready.
func (r *runner) startWorkers(ctx context.Context, sampleEvery int) error {
	cfg := r.cfg
	n := (cfg.Viewers + cfg.PerWorker - 1) / cfg.PerWorker
	var sources []string
	for i := range cfg.Sources {
		sources = append(sources, fmt.Sprintf("127.0.0.%d", sourceFirst+i))
	}
	first := 0
	for i := range n {
		count := cfg.Viewers / n
		if i < cfg.Viewers%n {
			count++
		}
		h, err := startWorker(i, cfg.WorkerCommand, cfg.Stderr, r.log)
		if err != nil {
			return err
		}
		r.workers = append(r.workers, h)
		p := &plan{
			WSURL: r.wsURL, Sources: sources, First: first, Count: count, Rooms: r.rooms,
			SampleEvery: sampleEvery, Join: r.spec.Join, Window: cfg.Window,
			DialConcurrency: cfg.DialConcurrency, Deflate: !cfg.NoCompression,
		}
		if cfg.SendRate > 0 {
			p.SendIntervalNs = int64(float64(time.Second) / cfg.SendRate)
		}
		if r.spec.Ingress {
			p.SampleEvery = 0
		}
		first += count
		if err := h.send(command{Cmd: cmdPlan, Plan: p}); err != nil {
			return err
		}
	}
	for _, h := range r.workers {
		if _, err := h.await(ctx, evReady, 30*time.Second); err != nil {
			return err
		}
	}
	r.log.Info("workers ready", "workers", n)
	return nil
}

func (r *runner) broadcast(c command) error {
	for _, h := range r.workers {
		if err := h.send(c); err != nil {
			return err
		}
	}
	return nil
}

// sampleServer reads the server's /proc entry; the zero sample (with the
// time set) when there is no PID or it cannot be read.
func (r *runner) sampleServer() procSample {
	var s procSample
	var err error
	if r.serverPID > 0 {
		if s, err = readProc(r.serverPID); err != nil {
			r.log.Warn("reading server /proc", "err", err)
		}
	}
	s.At = time.Now()
	s.hostBusy, s.hostTotal, _ = hostCPU()
	if s.RSS > r.peakRSS.Load() {
		r.peakRSS.Store(s.RSS)
	}
	return s
}

// genCPU is the CPU time used so far by the load generator: this process
// and every worker process.
func (r *runner) genCPU() time.Duration {
	var total time.Duration
	if s, err := readProc(os.Getpid()); err == nil {
		total += s.CPU
	}
	for _, h := range r.workers {
		if h.pid > 0 {
			if s, err := readProc(h.pid); err == nil {
				total += s.CPU
			}
		}
	}
	return total
}

// startMonitor prints progress once a second and cancels the run when the
// server or a worker dies.
func (r *runner) startMonitor() {
	r.monitorStop = make(chan struct{})
	r.monitorWG.Add(1)
	go func() {
		defer r.monitorWG.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		prevSrv, prevGen, prevAt := r.sampleServer(), r.genCPU(), time.Now()
		var prev tick
		var prevPub uint64
		for {
			select {
			case <-t.C:
			case <-r.monitorStop:
				return
			}
			if r.srv != nil && r.srv.exited() {
				r.cancel(fmt.Errorf("%w: %v", ErrServerDied, r.srv.waitErr))
				return
			}
			if !r.stopping.Load() {
				for _, h := range r.workers {
					select {
					case <-h.done:
						r.cancel(fmt.Errorf("%w: worker %d: %v", ErrWorkerDied, h.id, h.err))
						return
					default:
					}
				}
			}
			now := time.Now()
			srv, gen := r.sampleServer(), r.genCPU()
			var cur tick
			for _, h := range r.workers {
				tk := h.lastTick()
				cur.Conns += tk.Conns
				cur.Joined += tk.Joined
				cur.Msgs += tk.Msgs
				cur.Frames += tk.Frames
				cur.Acks += tk.Acks
			}
			var pub uint64
			if p := r.pub.Load(); p != nil {
				pub = p.messages.Load()
			}
			secs := now.Sub(prevAt).Seconds()
			rate := func(a, b uint64) float64 { return float64(b-a) / secs }
			if r.cfg.Progress != nil {
				srvCPU := 0.0
				if srv.RSS > 0 && prevSrv.RSS > 0 {
					srvCPU = cpuPercent(prevSrv, srv)
				}
				phase, _ := r.phase.Load().(string)
				fmt.Fprintln(r.cfg.Progress, progressLine(now.Sub(r.started), phase, cur.Conns, cur.Joined,
					rate(prevPub, pub), rate(prev.Msgs, cur.Msgs), rate(prev.Frames, cur.Frames), rate(prev.Acks, cur.Acks),
					srv, srvCPU, 100*(gen-prevGen).Seconds()/secs, hostBusy(prevSrv, srv)))
			}
			prev, prevPub, prevSrv, prevGen, prevAt = cur, pub, srv, gen, now
		}
	}()
}

func (r *runner) stopMonitor() {
	if r.monitorStop != nil {
		close(r.monitorStop)
		r.monitorWG.Wait()
		r.monitorStop = nil
	}
}

func (r *runner) stopWorkers() {
	r.stopping.Store(true)
	for _, h := range r.workers {
		h.stop(30 * time.Second)
	}
	r.workers = nil
}

func (r *runner) stopServer() error {
	if r.srv == nil {
		return nil
	}
	srv := r.srv
	r.srv = nil
	return srv.stop(30 * time.Second)
}

// cleanup stops whatever is still running: the monitor, the workers, the
// server.
func (r *runner) cleanup() {
	if r.cleaned {
		return
	}
	r.cleaned = true
	r.stopMonitor()
	r.stopWorkers()
	if err := r.stopServer(); err != nil {
		r.log.Warn("stopping the server", "err", err)
	}
}

// hostBusy is the share of all CPUs busy between two samples, in percent.
func hostBusy(a, b procSample) float64 {
	if b.hostTotal <= a.hostTotal {
		return 0
	}
	return 100 * float64(b.hostBusy-a.hostBusy) / float64(b.hostTotal-a.hostTotal)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
