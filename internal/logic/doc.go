// Package logic is the stateless rules tier: the HTTP API for business
// services and the send pipeline that every message passes before it is
// stored as room history (validate → store). It keeps no state of its own,
// so any number of logic nodes can run side by side.
package logic
