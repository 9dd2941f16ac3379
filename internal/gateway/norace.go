//go:build !race

package gateway

func raceRelease() {}
func raceAcquire() {}
