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
	"slices"
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

// runner is the parent of one run. It owns the servers (if it started
// them), the workers and the monitor goroutine, and stops them all in
// cleanup.
type runner struct {
	cfg     Config
	spec    scenarioSpec
	log     *slog.Logger
	cancel  context.CancelCauseFunc
	started time.Time

	wsURLs, apiURLs []string
	apiKey          string
	serverArgs      []string // extra flags of the started servers, the bench's defaults first
	srvs            []*childServer
	sampler         *pidSampler // nil without server PIDs
	pidURL          map[int]string
	workers         []*workerHandle
	rooms           []string
	pub             atomic.Pointer[publisher]
	workerFirst     []int // first global viewer index, per worker
	workerCount     []int
	rssBefore       serverSample

	warnMu   sync.Mutex // guards warnings
	warnings []string

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
		Server: "external", URL: r.wsURLs[0],
		Viewers: cfg.Viewers, Rooms: cfg.Rooms, Duration: cfg.Duration.String(), Warmup: cfg.Warmup.String(),
		Workers: len(r.workers), Sources: cfg.Sources, SampleViewers: nSample,
		Compression: cfg.DeflateShare > 0, DeflateShare: cfg.DeflateShare,
	}
	if len(r.wsURLs) > 1 || len(r.apiURLs) > 1 {
		s.Conditions.URLs, s.Conditions.APIURLs = r.wsURLs, r.apiURLs
	}
	if len(r.srvs) > 0 {
		s.Conditions.Server, s.Conditions.ServerArgs, s.Conditions.Nodes = "child", r.serverArgs, len(r.srvs)
	}
	if r.spec.Publish {
		s.Conditions.Rate, s.Conditions.Batch = cfg.Rate, cfg.Batch
		if cfg.Text != "" {
			s.Conditions.Text = cfg.Text
		} else {
			s.Conditions.TextSeed = cfg.TextSeed
		}
	} else {
		s.Conditions.Duration, s.Conditions.Warmup = "0s", "0s"
	}
	if r.spec.Ingress {
		s.Conditions.Duration, s.Conditions.Warmup = cfg.Duration.String(), cfg.Warmup.String()
		s.Conditions.Window, s.Conditions.SendRate = cfg.Window, cfg.SendRate
	}
	if r.sampler != nil {
		s.Server.PID = r.sampler.pids[0]
		if len(r.sampler.pids) > 1 {
			s.Server.PIDs = r.sampler.pids
		}
	}
	s.Host.LoadAvg = loadAvg()

	// Connect.
	before := r.sampleServer()
	r.rssBefore = before
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
	if r.spec.Storm && r.sampler != nil && s.Connect.Handshakes > 0 {
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
	var srv0, srv1 serverSample
	var gen0, gen1 time.Duration
	var finish command
	var slow *slowViewers
	switch {
	case r.spec.Publish:
		if cfg.SlowViewers > 0 {
			var err error
			if slow, err = startSlowViewers(ctx, r.wsURLs[0], r.rooms, cfg.SlowViewers, cfg.SlowRead); err != nil {
				return nil, err
			}
			defer func() {
				if slow != nil { // a run that failed
					slow.stop()
				}
			}()
		}
		r.phase.Store("publish")
		pub := newPublisher(r.apiURLs, r.apiKey, r.rooms, cfg.Rate, cfg.Batch, cfg.Publishers, texts(&cfg))
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
		finish = command{Cmd: cmdFinish, Expected: pub.expected(), Acked: pub.ackedOffsets(), DrainMs: int(cfg.Drain / time.Millisecond)}
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
	for i, h := range r.workers {
		c := finish
		if finish.Acked != nil {
			c.Acked = r.sampledRooms(i, sampleEvery, finish.Acked)
		}
		if err := h.send(c); err != nil {
			return nil, err
		}
	}
	reports := make([]*workerReport, len(r.workers))
	for i, h := range r.workers {
		e, err := h.await(ctx, evReport, cfg.Drain+2*time.Minute)
		if err != nil {
			return nil, err
		}
		reports[i] = e.Report
	}
	if slow != nil {
		st := slow.stop()
		s.Slow, slow = &st, nil
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

// sampledRooms keeps of acked the rooms of worker i's sample viewers, so
// that no worker is sent offsets it does not check.
func (r *runner) sampledRooms(i, sampleEvery int, acked [][]uint64) [][]uint64 {
	out := make([][]uint64, len(acked))
	if sampleEvery <= 0 {
		return out
	}
	first := r.workerFirst[i]
	for g := first; g < first+r.workerCount[i]; g++ {
		if g%sampleEvery == 0 {
			out[g%len(acked)] = acked[g%len(acked)]
		}
	}
	return out
}

// assemble fills the summary from the reports and samples.
func (r *runner) assemble(s *Summary, reports []*workerReport, win window, settled, srv0, srv1 serverSample, gen0, gen1, workerCPU time.Duration) {
	cfg := r.cfg
	var final tick
	var lat, ack, back Histogram
	closes := map[string]uint64{}
	nacks := map[string]uint64{}
	d := &Delivery{}
	res := &ResumeStats{}
	var plain, deflate WireBytes
	gws := make([]GatewayStats, len(r.wsURLs))
	same := make([]Histogram, len(r.wsURLs))
	cross := make([]Histogram, len(r.wsURLs))
	for _, rep := range reports {
		back.Merge(rep.Resume.Back.histogram())
		res.Viewers += rep.Resume.Viewers
		res.Resumed += rep.Resume.Resumed
		res.Recovered += rep.Resume.Recovered
		res.DialFailures += rep.Resume.DialFailures
		res.NotBack += rep.Resume.NotBack
		for g, n := range rep.Resume.Landed {
			if g < len(gws) {
				gws[g].Resumed += n
			}
		}
		for g, gr := range rep.ByGateway {
			if g >= len(gws) {
				break
			}
			gws[g].Viewers += gr.Viewers
			gws[g].Received += gr.Msgs
			same[g].Merge(gr.Same.histogram())
			cross[g].Merge(gr.Cross.histogram())
		}
		d.AckedChecked += rep.AckedChecked
		d.AckedMissing += rep.AckedMissing
		plain.add(rep.Plain)
		deflate.add(rep.Deflate)
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
		if len(p.apiURLs) > 1 {
			for i := range p.apis {
				a := &p.apis[i]
				s.Publish.APIs = append(s.Publish.APIs, APIStats{URL: p.apiURLs[i],
					Requests: a.requests.Load(), Messages: a.messages.Load(), Failures: a.failures.Load(),
					RequestLatency: latencyOf(&a.latency)})
			}
		}
		secs := win.seconds()
		s.Publish.PerSec = float64(s.Publish.Messages) / secs
		s.Publish.RequestsPerSec = float64(s.Publish.Requests-s.Publish.Failures) / secs
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
		s.Bytes = newBytesStats(plain, deflate)
		l := latencyOf(&lat)
		s.Latency = &l
		x := &CrossNode{Gateways: gws}
		var allSame, allCross Histogram
		for g := range gws {
			gws[g].URL = r.wsURLs[g]
			var both Histogram
			both.Merge(&same[g])
			both.Merge(&cross[g])
			gws[g].Latency, gws[g].SameNode, gws[g].OtherNode = latencyOf(&both), latencyOf(&same[g]), latencyOf(&cross[g])
			allSame.Merge(&same[g])
			allCross.Merge(&cross[g])
		}
		x.SameNode, x.OtherNode = latencyOf(&allSame), latencyOf(&allCross)
		s.CrossNode = x
		if res.Viewers > 0 {
			res.Closed = final.Closed
			res.NotRecovered = res.Resumed - res.Recovered
			res.Back = latencyOf(&back)
			s.Resume = res
		}
		if p.failures.Load() > 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%d publish requests failed: %s", p.failures.Load(), p.firstErr))
		}
		if interval := time.Duration(float64(cfg.Batch) / cfg.Rate * float64(time.Second)); cfg.Rate > 0 && time.Duration(p.maxLag.Load()) > max(interval, 100*time.Millisecond) {
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
	// Ingress reports its refusals itself; elsewhere they answer joins.
	if !r.spec.Ingress && len(nacks) > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("error replies: %v", nacks))
	}
	if final.Closed > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d connections were closed by the server or the network: %v", final.Closed, closes))
	}
	if n := len(r.wsURLs); n > 1 && r.spec.Join {
		if k := gcd(cfg.Rooms, n); k > 1 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%d rooms over %d gateway URLs: viewer i is in room i mod %d on URL i mod %d, so each room's viewers are on only %d of the URLs (choose coprime numbers to spread every room over every gateway)",
				cfg.Rooms, n, cfg.Rooms, n, n/k))
		}
	}
	r.warnMu.Lock()
	s.Warnings = append(s.Warnings, r.warnings...)
	r.warnMu.Unlock()
	if s.Connect.Failed > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d of %d connections failed", s.Connect.Failed, cfg.Viewers))
	}
	if r.spec.Join && s.Connect.Joined < s.Connect.Handshakes {
		s.Warnings = append(s.Warnings, fmt.Sprintf("only %d of %d connections got their joined reply", s.Connect.Joined, s.Connect.Handshakes))
	}

	sv := &s.Server
	if r.sampler != nil {
		sv.RSSAfterBytes = settled.RSS
		sv.RSSPeakBytes = max(r.peakRSS.Load(), settled.RSS, srv1.RSS)
		if len(r.sampler.pids) > 1 {
			for i, pid := range r.sampler.pids {
				ps := ProcessStats{PID: pid, URL: r.pidURL[pid], RSSAfterBytes: settled.per[i].RSS,
					RSSPeakBytes: r.sampler.peakRSS(i), Exited: r.sampler.exited(i)}
				ps.RSSBeforeBytes = r.rssBefore.per[i].RSS
				ps.CPUSeconds = (srv1.per[i].CPU - srv0.per[i].CPU).Seconds()
				if wall := srv1.At.Sub(srv0.At); wall > 0 {
					ps.CPUPercent = 100 * ps.CPUSeconds / wall.Seconds()
				}
				sv.Processes = append(sv.Processes, ps)
			}
		}
		exited := false
		for i := range r.sampler.pids {
			exited = exited || r.sampler.exited(i)
		}
		// A process gone from the sum would make the difference mean nothing.
		if s.Connect.Handshakes > 0 && !exited {
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
	s.Host.BusyPercent = hostBusy(srv0.procSample, srv1.procSample)
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

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// membersOf is the number of viewers in room (viewer i joins i mod rooms).
func membersOf(room, viewers, rooms int) int {
	n := viewers / rooms
	if room < viewers%rooms {
		n++
	}
	return n
}

// setupServer starts the servers or checks the ones given.
func (r *runner) setupServer(ctx context.Context) error {
	cfg := r.cfg
	pids := cfg.pids()
	if len(cfg.targets()) == 0 {
		r.serverArgs = append(r.scenarioServerArgs(), cfg.ServerArgs...)
		if cfg.Nodes == 1 {
			srv, err := startServer(ctx, cfg.ServerCommand, r.serverArgs, cfg.Stderr, r.log)
			if err != nil {
				return err
			}
			r.srvs = []*childServer{srv}
		} else {
			srvs, err := startCluster(ctx, cfg.ServerCommand, cfg.Nodes, r.serverArgs, cfg.Stderr, r.log)
			if err != nil {
				return err
			}
			r.srvs = srvs
		}
		r.pidURL = map[int]string{}
		pids = nil
		for _, srv := range r.srvs {
			r.wsURLs = append(r.wsURLs, "ws"+strings.TrimPrefix(srv.url, "http")+"/ws")
			r.apiURLs = append(r.apiURLs, srv.url)
			pids = append(pids, srv.pid())
			r.pidURL[srv.pid()] = srv.url
		}
		r.apiKey = r.srvs[0].apiKey
		r.newSampler(pids)
		return nil
	}
	ws, api, err := targetLists(cfg.targets(), cfg.apiTargets())
	if err != nil {
		return err
	}
	for _, u := range append(slices.Clone(ws), api...) {
		if err := checkLoopback(ctx, u); err != nil {
			return err
		}
	}
	r.wsURLs, r.apiURLs, r.apiKey = ws, api, cfg.APIKey
	r.newSampler(pids)
	if r.spec.Publish && r.apiKey == "" {
		return errors.New("bench: --api-key is required with --url for publishing scenarios")
	}
	for _, u := range api {
		if err := waitReady(ctx, u, 10*time.Second, nil); err != nil {
			return err
		}
	}
	return nil
}

// scenarioServerArgs are the flags the bench gives the servers it starts
// for this scenario, before Config.ServerArgs (which win).
func (r *runner) scenarioServerArgs() []string {
	if r.spec.Ingress {
		// Every ingress connection is a guest of its own whose sends the
		// logic tier limits to --send-rate per --send-window (20 per 30 s),
		// and the gateway to --msg-rate a second: with those the run
		// measures refusals, not what the send path accepts.
		return []string{"--send-rate=-1", "--msg-rate=-1"}
	}
	return nil
}

func (r *runner) newSampler(pids []int) {
	if len(pids) == 0 {
		return
	}
	r.sampler = newPIDSampler(pids, func(pid int, err error) {
		r.log.Warn("a server process can no longer be read; its last CPU reading counts", "pid", pid, "err", err)
	})
}

// targetLists derives the WebSocket and API URLs from the targets and
// the API URLs given: without API URLs, one from each target.
func targetLists(targets, apiTargets []string) (ws, api []string, err error) {
	for _, t := range targets {
		w, a, err := targetURLs(t, "")
		if err != nil {
			return nil, nil, err
		}
		ws = append(ws, w)
		if len(apiTargets) == 0 {
			api = append(api, a)
		}
	}
	for _, t := range apiTargets {
		_, a, err := targetURLs(ws[0], t)
		if err != nil {
			return nil, nil, err
		}
		api = append(api, a)
	}
	return ws, api, nil
}

// nodeIDs numbers the host:port of every URL, the same number for the
// same node, in the order the URLs come (gateways first, then APIs).
func nodeIDs(ws, api []string) (gw, apis []int) {
	ids := map[string]int{}
	id := func(raw string) int {
		key := raw
		if u, err := url.Parse(raw); err == nil {
			key = strings.ToLower(u.Host)
		}
		if _, ok := ids[key]; !ok {
			ids[key] = len(ids)
		}
		return ids[key]
	}
	for _, u := range ws {
		gw = append(gw, id(u))
	}
	for _, u := range api {
		apis = append(apis, id(u))
	}
	return gw, apis
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
	gwNodes, apiNodes := nodeIDs(r.wsURLs, r.apiURLs)
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
			WSURL: r.wsURLs[0], Sources: sources, First: first, Count: count, Rooms: r.rooms,
			SampleEvery: sampleEvery, Join: r.spec.Join, Window: cfg.Window,
			DialConcurrency: cfg.DialConcurrency, DeflateShare: cfg.DeflateShare,
			GatewayNodes: gwNodes, APINodes: apiNodes, Resume: r.spec.Publish,
		}
		if len(r.wsURLs) > 1 {
			p.WSURLs = r.wsURLs
		}
		r.workerFirst, r.workerCount = append(r.workerFirst, first), append(r.workerCount, count)
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

// sampleServer reads the servers' /proc entries: zero RSS and CPU (with
// the time set) when there is no PID.
func (r *runner) sampleServer() serverSample {
	s := r.sampler.sample()
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
			if err := r.checkServers(); err != nil {
				r.cancel(err)
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
					srvCPU = cpuPercent(prevSrv.procSample, srv.procSample)
				}
				phase, _ := r.phase.Load().(string)
				fmt.Fprintln(r.cfg.Progress, progressLine(now.Sub(r.started), phase, cur.Conns, cur.Joined,
					rate(prevPub, pub), rate(prev.Msgs, cur.Msgs), rate(prev.Frames, cur.Frames), rate(prev.Acks, cur.Acks),
					srv.procSample, srvCPU, 100*(gen-prevGen).Seconds()/secs, hostBusy(prevSrv.procSample, srv.procSample)))
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

// checkServers fails the run when its one started server has exited. A
// started cluster goes on while one node lives, as its viewers resume on
// the others; each node that dies is a warning.
func (r *runner) checkServers() error {
	alive := 0
	for _, srv := range r.srvs {
		if !srv.exited() {
			alive++
			continue
		}
		if !srv.reported {
			srv.reported = true
			if len(r.srvs) > 1 {
				r.warn(fmt.Sprintf("node %s (pid %d) exited during the run: %v", srv.url, srv.pid(), srv.waitErr))
			}
		}
	}
	if len(r.srvs) > 0 && alive == 0 {
		return fmt.Errorf("%w: %v", ErrServerDied, r.srvs[0].waitErr)
	}
	return nil
}

func (r *runner) warn(msg string) {
	r.warnMu.Lock()
	defer r.warnMu.Unlock()
	r.warnings = append(r.warnings, msg)
}

// stopServer stops every started server. A cluster node that died during
// the run was reported by checkServers and is not an error here.
func (r *runner) stopServer() error {
	srvs := r.srvs
	r.srvs = nil
	var errs []error
	for _, srv := range srvs {
		if srv.exited() && len(srvs) > 1 {
			_ = srv.stop(0)
			continue
		}
		errs = append(errs, srv.stop(30*time.Second))
	}
	return errors.Join(errs...)
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
