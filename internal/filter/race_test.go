//go:build race

package filter

// raceEnabled skips allocation checks: under the race detector sync.Pool
// drops items on purpose, so pooled buffers are reallocated.
const raceEnabled = true
