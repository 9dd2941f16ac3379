package metrics

// The label values of the by-reason counters live here, as typed constants,
// so that a dashboard has one list to read and a caller cannot pass a label
// of the wrong counter. docs/operations.md lists them.

// DropReason labels danmaku_drops_total: a message or frame that some
// viewer did not get, or a client message the gateway threw away.
type DropReason string

const (
	// DropSlowConsumer: a viewer's unsent bytes passed the limit; it is
	// closed with 4008 and gets nothing more.
	DropSlowConsumer DropReason = "slow_consumer"
	// DropMessageRate: a client message over the connection's rate limit.
	DropMessageRate DropReason = "message_rate"
	// DropBadRequest: a malformed client message.
	DropBadRequest DropReason = "bad_request"
	// DropLiveGap: the gateway's live subscription missed messages; they
	// are read back from the store.
	DropLiveGap DropReason = "live_gap"
)

// DropReasons lists every DropReason.
var DropReasons = []DropReason{DropSlowConsumer, DropMessageRate, DropBadRequest, DropLiveGap}

// CloseReason labels danmaku_closes_total.
type CloseReason string

const (
	CloseClient       CloseReason = "client"          // the viewer closed, or the socket failed
	CloseSlowConsumer CloseReason = "slow_consumer"   // 4008
	CloseIdle         CloseReason = "idle_timeout"    // 4012
	CloseDrain        CloseReason = "drain"           // 4000
	CloseProtocol     CloseReason = "protocol_error"  // 4400
	CloseBadUTF8      CloseReason = "invalid_utf8"    // 1007
	CloseTooBig       CloseReason = "message_too_big" // 1009
	CloseFlood        CloseReason = "flood"           // 4013
	CloseUnauthorized CloseReason = "unauthorized"    // 4501
	CloseBanned       CloseReason = "banned"          // 4503
)

// CloseReasons lists every CloseReason.
var CloseReasons = []CloseReason{CloseClient, CloseSlowConsumer, CloseIdle, CloseDrain, CloseProtocol,
	CloseBadUTF8, CloseTooBig, CloseFlood, CloseUnauthorized, CloseBanned}

// StoreErrorSource labels danmaku_store_errors_total: where a failed store
// or bus operation came from.
type StoreErrorSource string

const (
	StoreErrorWS  StoreErrorSource = "ws"  // a viewer's send that could not be stored
	StoreErrorAPI StoreErrorSource = "api" // an API request whose store or bus call failed (answered 503)
)

// StoreErrorSources lists every StoreErrorSource.
var StoreErrorSources = []StoreErrorSource{StoreErrorWS, StoreErrorAPI}

// RefusalReason labels danmaku_conn_refusals_total: connections refused or
// closed by identity and abuse limits.
type RefusalReason string

const (
	RefuseUnauthorized RefusalReason = "unauthorized"  // a bad or expired token in auth
	RefuseBanned       RefusalReason = "banned"        // a ban, at auth or while connected
	RefuseTokenExpired RefusalReason = "token_expired" // the token expired while connected
	RefuseAuthTimeout  RefusalReason = "auth_timeout"  // no auth within the handshake timeout
)

// HandshakeReason labels danmaku_handshake_errors_total.
type HandshakeReason string

const (
	HandshakeDraining      HandshakeReason = "draining"         // the node is draining (HTTP 503)
	HandshakeUpgrade       HandshakeReason = "upgrade"          // not a valid WebSocket upgrade
	HandshakeOrigin        HandshakeReason = "origin"           // Origin not allowed (HTTP 403)
	HandshakeMaxConns      HandshakeReason = "max_conns"        // the node is full (HTTP 503)
	HandshakeConnRate      HandshakeReason = "conn_rate"        // too many new connections (HTTP 503)
	HandshakeMaxConnsPerIP HandshakeReason = "max_conns_per_ip" // too many from one address (HTTP 503)
)

// Drop counts one drop.
func (m *Metrics) Drop(r DropReason) { m.Drops.WithLabelValues(string(r)).Inc() }

// StoreFailed counts one failed store or bus operation.
func (m *Metrics) StoreFailed(s StoreErrorSource) { m.StoreErrors.WithLabelValues(string(s)).Inc() }

// Closed counts one closed connection.
func (m *Metrics) Closed(r CloseReason) { m.Closes.WithLabelValues(string(r)).Inc() }

// Refused counts one connection refused or closed by a limit.
func (m *Metrics) Refused(r RefusalReason) { m.ConnRefusals.WithLabelValues(string(r)).Inc() }

// HandshakeFailed counts one refused handshake.
func (m *Metrics) HandshakeFailed(r HandshakeReason) {
	m.HandshakeErrors.WithLabelValues(string(r)).Inc()
}
