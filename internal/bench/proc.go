package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// It is 100 on every Linux architecture Go supports.
const clockTicks = 100

// procSample is one reading of a process's resident memory and CPU time.
type procSample struct {
	At  time.Time
	RSS int64         // bytes (VmRSS)
	CPU time.Duration // user + system

	hostBusy, hostTotal int64 // /proc/stat jiffies of the whole host
}

// readProc reads /proc/<pid>/status and /proc/<pid>/stat.
func readProc(pid int) (procSample, error) {
	s := procSample{At: time.Now()}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	rss, err := parseVmRSS(status)
	if err != nil {
		return s, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	s.RSS = rss
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	s.CPU = cpu
	return s, nil
}

// parseVmRSS returns the VmRSS line of a status file in bytes.
func parseVmRSS(status []byte) (int64, error) {
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 1 {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, err
		}
		return kb * 1024, nil
	}
	return 0, errNoVmRSS
}

// parseStatCPU returns utime + stime of a stat file. The command name (field
// 2) may hold spaces and parentheses, so fields are counted after its last
// ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errBadStat
	}
	f := bytes.Fields(stat[i+1:])
	// After ")": state(3) ppid(4) ... utime(14) stime(15): indices 11 and 12.
	if len(f) < 13 {
		return 0, errBadStat
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errBadStat
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// cpuPercent is the CPU used between two samples as a percentage of one
// core.
func cpuPercent(a, b procSample) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return 100 * float64(b.CPU-a.CPU) / float64(wall)
}

// hostCPU reads the first line of /proc/stat: busy and total jiffies of all
// CPUs (iowait and idle count as not busy).
func hostCPU() (busy, total int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return 0, 0, errBadStat
	}
	for i, x := range f[1:] {
		v, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil {
			return 0, 0, errBadStat
		}
		if i >= 8 { // guest time is already in user
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}

// loadAvg reads the one-minute load average.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(string(f[0]), 64)
	return v
}

// serverSample is one reading of every server process: the sum, and each.
type serverSample struct {
	procSample              // RSS and CPU summed over the processes
	per        []procSample // indexed like pidSampler.pids
}

// pidSampler reads several processes. A process that has exited (a node
// killed on purpose) keeps the CPU of its last reading, so that CPU over
// a window stays what it used, and counts no RSS.
type pidSampler struct {
	pids []int
	mu   sync.Mutex // guards the fields below: the monitor and the run sample
	last []procSample
	gone []bool
	peak []int64
	log  func(pid int, err error)
}

func newPIDSampler(pids []int, log func(pid int, err error)) *pidSampler {
	n := len(pids)
	return &pidSampler{pids: pids, last: make([]procSample, n), gone: make([]bool, n), peak: make([]int64, n), log: log}
}

func (p *pidSampler) sample() serverSample {
	var s serverSample
	if p != nil {
		p.mu.Lock()
		s.per = make([]procSample, len(p.pids))
		for i, pid := range p.pids {
			cur, err := readProc(pid)
			switch {
			case err == nil:
				p.last[i] = cur
			case !p.gone[i]:
				p.gone[i] = true
				p.log(pid, err)
			}
			s.per[i] = p.last[i]
			if p.gone[i] {
				s.per[i].RSS = 0
			}
			s.per[i].At = time.Now()
			s.RSS += s.per[i].RSS
			s.CPU += s.per[i].CPU
			p.peak[i] = max(p.peak[i], s.per[i].RSS)
		}
		p.mu.Unlock()
	}
	s.At = time.Now()
	s.hostBusy, s.hostTotal, _ = hostCPU()
	return s
}

// exited reports whether process i could not be read since some sample.
func (p *pidSampler) exited(i int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gone[i]
}

// peakRSS is process i's highest RSS seen.
func (p *pidSampler) peakRSS(i int) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak[i]
}
