package filter

import "sync/atomic"

// Holder holds the current Filter for readers while a reload (SIGHUP, an
// API call) swaps in a new one. Readers Load once per message and use that
// Filter throughout, so a message is never judged by two lists. The zero
// Holder holds nil, which matches nothing. A Holder must not be copied
// after first use.
type Holder struct {
	current atomic.Pointer[Filter]
}

// Load returns the current Filter, nil if none was stored.
func (h *Holder) Load() *Filter { return h.current.Load() }

// Store makes f the current Filter; nil disables filtering.
func (h *Holder) Store(f *Filter) { h.current.Store(f) }
