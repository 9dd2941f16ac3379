package bench

// The parent and its workers talk in JSON lines: commands on the worker's
// standard input, events on its standard output. A worker's standard error
// carries its logs only. A worker whose input ends stops at once.

// Commands, parent to worker.
const (
	cmdPlan      = "plan"      // first line: what to connect and how
	cmdConnect   = "connect"   // dial every viewer (and join, if the plan says so)
	cmdRecord    = "record"    // record latencies of messages published at or after RecordAfter
	cmdSend      = "send"      // ingress: start sending
	cmdStopSend  = "stop-send" // ingress: stop sending; in-flight sends still complete
	cmdFinish    = "finish"    // wait for Expected deliveries (up to Drain), report, close, exit
	evReady      = "ready"     // the worker parsed its plan and started its engine
	evConnected  = "connected" // every dial ended (and every join, if joining)
	evTick       = "tick"      // cumulative counters, once a second
	evReport     = "report"    // the final report; the worker exits after it
	evFatal      = "fatal"     // the worker cannot go on
	maxPipeLine  = 16 << 20    // longest JSON line on either pipe
	sourceFirst  = 2           // source addresses are 127.0.0.sourceFirst…
	sourcesTotal = 253         // …up to 127.0.0.254
)

// plan is what one worker does.
type plan struct {
	// WSURL is the one gateway, or WSURLs the several: viewer i (global
	// index) connects to WSURLs[i%len] first.
	WSURL  string   `json:"ws_url"`
	WSURLs []string `json:"ws_urls,omitempty"`
	// GatewayNodes[g] and APINodes[a] name the node (host:port) of
	// WSURLs[g] and of the publisher's API URL a: a message published
	// through a and received through g crossed nodes unless they are
	// equal.
	GatewayNodes []int `json:"gateway_nodes,omitempty"`
	APINodes     []int `json:"api_nodes,omitempty"`
	// Resume: a viewer whose connection the server or the network closes
	// dials the next URL of WSURLs and rejoins with since and epoch.
	Resume bool `json:"resume,omitempty"`
	// Sources are the local IPs the viewers bind to; viewer i (global
	// index) uses Sources[i%len]. Empty lets the kernel choose.
	Sources []string `json:"sources,omitempty"`
	// First and Count select the global viewer indices [First, First+Count).
	First int `json:"first"`
	Count int `json:"count"`
	// Rooms are the room names; viewer i joins Rooms[i%len].
	Rooms []string `json:"rooms"`
	// SampleEvery marks viewer i a sample viewer (full order checks) when
	// i%SampleEvery == 0. 0 means none.
	SampleEvery int `json:"sample_every"`
	// Join makes viewers join their room after the handshake. Without it
	// (connect storm) connections stay idle.
	Join bool `json:"join"`
	// DeflateShare of the viewers offer permessage-deflate, as browsers
	// do (offersDeflate picks them); 0 none, 1 all.
	DeflateShare float64 `json:"deflate_share"`
	// SendIntervalNs paces each ingress connection; 0 is unpaced.
	SendIntervalNs int64 `json:"send_interval_ns"`
	// Window is the sends each connection keeps in flight in ingress mode.
	Window int `json:"window"`
	// DialConcurrency bounds dials in flight.
	DialConcurrency int `json:"dial_concurrency"`
	// DialTimeoutMs bounds one dial and handshake; JoinTimeoutMs the wait
	// for every joined reply.
	DialTimeoutMs int `json:"dial_timeout_ms"`
	JoinTimeoutMs int `json:"join_timeout_ms"`
	// PingIntervalMs is how often each viewer sends a ping (the server
	// closes silent connections).
	PingIntervalMs int `json:"ping_interval_ms"`
}

// command is one line to a worker.
type command struct {
	Cmd         string `json:"cmd"`
	Plan        *plan  `json:"plan,omitempty"`
	RecordAfter int64  `json:"record_after,omitempty"` // unix nanoseconds
	// Expected is, per room index, how many messages were published; a
	// finishing worker waits until each viewer received its room's count.
	Expected []uint64 `json:"expected,omitempty"`
	// Acked is, per room index, the offsets whose publish was
	// acknowledged, ascending; only for the rooms of the worker's sample
	// viewers, who check that each arrived.
	Acked   [][]uint64 `json:"acked,omitempty"`
	DrainMs int        `json:"drain_ms,omitempty"`
}

// event is one line from a worker.
type event struct {
	Ev        string        `json:"ev"`
	Tick      *tick         `json:"tick,omitempty"`
	Connected *connected    `json:"connected,omitempty"`
	Report    *workerReport `json:"report,omitempty"`
	Error     string        `json:"error,omitempty"`
}

// tick holds a worker's cumulative counters.
type tick struct {
	Conns  int64  `json:"conns"`  // open connections
	Joined int64  `json:"joined"` // viewers that got their joined reply
	Msgs   uint64 `json:"msgs"`   // room messages received, all viewers
	Frames uint64 `json:"frames"` // batch frames received
	Bytes  uint64 `json:"bytes"`  // bytes read
	Sent   uint64 `json:"sent"`   // ingress sends
	Acks   uint64 `json:"acks"`
	Nacks  uint64 `json:"nacks"`
	Closed uint64 `json:"closed"` // connections closed by the server or the network
}

// connected answers cmdConnect.
type connected struct {
	Handshakes int `json:"handshakes"`
	Failed     int `json:"failed"`
	Joined     int `json:"joined"`
	// ElapsedNs is from the connect command to the last handshake.
	ElapsedNs int64 `json:"elapsed_ns"`
	// JoinedNs is from the connect command to the last joined reply.
	JoinedNs  int64          `json:"joined_ns"`
	Errors    map[string]int `json:"errors,omitempty"` // dial errors, a few of each kind
	Handshake sparse         `json:"handshake"`        // dial start → 101 received
}

// workerReport answers cmdFinish.
type workerReport struct {
	Final tick `json:"final"`
	// Latency is publish→receive over every message received by every
	// viewer, published at or after RecordAfter.
	Latency sparse `json:"latency"`
	// AckLatency is send→ack for ingress.
	AckLatency sparse `json:"ack_latency"`
	// Sample viewers: every batch decoded on its own and checked.
	SampleViewers int    `json:"sample_viewers"`
	SampleMsgs    uint64 `json:"sample_msgs"`
	Gaps          uint64 `json:"gaps"`       // prev ≠ the last offset seen
	Duplicates    uint64 `json:"duplicates"` // an offset not above the last one
	// Against Expected: viewers with fewer or more messages than their
	// room's published count, and the messages missing in all.
	ViewersShort int    `json:"viewers_short"`
	ViewersOver  int    `json:"viewers_over"`
	Missing      uint64 `json:"missing"`
	// Nacks by code; Closes by close code or error ("1006" for a dropped
	// socket).
	NackCodes map[string]uint64 `json:"nack_codes,omitempty"`
	Closes    map[string]uint64 `json:"closes,omitempty"`
	// Malformed counts frames the viewer could not parse.
	Malformed uint64 `json:"malformed"`
	// Sample viewers against Acked: offsets checked, and those that never
	// arrived.
	AckedChecked uint64 `json:"acked_checked,omitempty"`
	AckedMissing uint64 `json:"acked_missing,omitempty"`
	// ByGateway is indexed like the plan's WSURLs.
	ByGateway []gatewayReport `json:"by_gateway,omitempty"`
	// Resumes of closed connections (plans with Resume).
	Resume resumeReport `json:"resume"`
	// CPU is the worker process's user+system time; 0 for in-process
	// workers.
	CPUNs int64 `json:"cpu_ns"`
	// What the viewers read, by whether their connection negotiated
	// permessage-deflate.
	Plain   wireReport `json:"plain"`
	Deflate wireReport `json:"deflate"`
}

// wireReport is what one kind of viewer (plain or deflate) read.
type wireReport struct {
	Viewers    int    `json:"viewers"` // joined, by their last connection
	Bytes      uint64 `json:"bytes"`   // every byte after the handshake's headers
	BatchBytes uint64 `json:"batch_bytes"`
	Frames     uint64 `json:"frames"` // batch frames
	Msgs       uint64 `json:"msgs"`   // room messages in them
}

// gatewayReport is what a worker's viewers received through one gateway.
type gatewayReport struct {
	Viewers int    `json:"viewers"` // first connected there
	Msgs    uint64 `json:"msgs"`
	// Latency of the messages published through an API URL of the same
	// node, and through another node's.
	Same  sparse `json:"same"`
	Cross sparse `json:"cross"`
}

// resumeReport counts a worker's viewers coming back after a close.
type resumeReport struct {
	Viewers      int    `json:"viewers"`       // viewers that lost a connection at least once
	Resumed      uint64 `json:"resumed"`       // joined replies on a new connection
	Recovered    uint64 `json:"recovered"`     // of those, recovered:true
	DialFailures uint64 `json:"dial_failures"` // attempts that did not connect
	NotBack      int    `json:"not_back"`      // viewers without a joined connection at the report
	Back         sparse `json:"back"`          // close → joined on the new connection
	// Landed counts the resumes by the index of the URL they landed on.
	Landed []uint64 `json:"landed,omitempty"`
}
