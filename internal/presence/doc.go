// Package presence counts a room's viewers across the cluster: every
// gateway reports how many viewers each of its rooms has, and every node
// adds up the reports of the others.
//
// # Reports
//
// A gateway publishes a report on danmaku.online every ReportInterval:
// the rooms whose count changed since its previous report (0 for a room it
// no longer holds), numbered by a sequence. A report with no rooms is the
// gateway's heartbeat. No message is sent per viewer: a reconnect storm of
// a hundred thousand viewers becomes, per gateway, one report per interval
// listing the rooms that changed.
//
// A node that sees a gateway for the first time, or misses one of its
// reports (the sequence skips), asks that gateway for a snapshot of every
// count it reported (danmaku.online.snapshot.<node>), which arrives in
// chunks on the asker's inbox; reports that come meanwhile are applied
// after it. A gateway not heard from for Expiry drops out of every count.
//
// # Cost
//
// With G gateways, each holding R rooms of which C change per interval:
// every node receives G × (C + 1) room entries per interval and keeps
// G × R entries, only for the gateways that hold a room. docs/capacity.md
// works it out for the cluster targets.
package presence
