package cli

// Role is what a node runs. The zero value runs every role in one process,
// as "danmaku serve" does.
type Role uint8

const (
	RoleAll     Role = iota // gateway and logic: danmaku serve
	RoleGateway             // viewers' WebSocket connections and the demo page: danmaku gateway
	RoleLogic               // the HTTP API and the send pipeline: danmaku logic
)

func (r Role) hasGateway() bool { return r != RoleLogic }
func (r Role) hasLogic() bool   { return r != RoleGateway }

func (r Role) command() string {
	switch r {
	case RoleGateway:
		return "gateway"
	case RoleLogic:
		return "logic"
	}
	return "serve"
}

func (r Role) addrHelp() string {
	switch r {
	case RoleGateway:
		return "public listen address: /ws, demo page, /healthz, /readyz, and /metrics unless --internal-addr takes it"
	case RoleLogic:
		return "listen address of the HTTP API: /v1/…, /healthz, /readyz, and /metrics and the console (/admin/) unless --internal-addr takes them"
	}
	return "public listen address: /ws, /v1/…, demo page, /healthz, /readyz, and /metrics and the console (/admin/) unless --internal-addr takes them"
}
