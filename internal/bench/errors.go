package bench

import "errors"

var (
	// ErrInvalidConfig is returned by Run for a Config it cannot run.
	ErrInvalidConfig = errors.New("bench: invalid config")
	// ErrGoalsMissed is returned by Run with Config.Check when the run
	// worked but at least one goal was missed.
	ErrGoalsMissed = errors.New("bench: goals missed")
	// ErrNotLoopback refuses a target outside the loopback range: the load
	// generator only ever targets this host.
	ErrNotLoopback = errors.New("bench: target is not a loopback address")
	// ErrServerDied reports that the server process exited during the run.
	ErrServerDied = errors.New("bench: server process exited")
	// ErrWorkerDied reports that a worker process exited during the run.
	ErrWorkerDied = errors.New("bench: worker exited")

	errNoVmRSS = errors.New("no VmRSS line")
	errBadStat = errors.New("malformed stat line")
)
