package web_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// threadCPU returns the CPU time (user + system, in seconds) of every thread
// of the browser process rooted at root and its descendants, keyed by process
// type and thread name: "renderer/chromium" is a renderer's main thread,
// "renderer/Compositor" its compositor thread, "gpu-process/VizCompositorTh"
// the display compositor, "browser/…" the browser process. It reads /proc,
// so it returns nil where there is none (not Linux).
func threadCPU(root int) map[string]float64 {
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil || len(procs) == 0 {
		return nil
	}
	parent := map[int]int{}
	for _, d := range procs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if f := statFields(d + "/stat"); len(f) > 1 {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	descends := func(pid int) bool {
		for i := 0; i < 64 && pid > 1; i++ {
			if pid == root {
				return true
			}
			pid = parent[pid]
		}
		return false
	}
	out := map[string]float64{}
	for pid := range parent {
		if !descends(pid) {
			continue
		}
		dir := "/proc/" + strconv.Itoa(pid)
		kind := "browser"
		if cmd, err := os.ReadFile(dir + "/cmdline"); err == nil {
			// Zygote children rewrite their command line as one
			// space-separated string.
			for _, arg := range strings.FieldsFunc(string(cmd), func(r rune) bool { return r == 0 || r == ' ' }) {
				if t, ok := strings.CutPrefix(arg, "--type="); ok {
					kind = t
				}
			}
		}
		tasks, _ := filepath.Glob(dir + "/task/[0-9]*")
		for _, task := range tasks {
			comm, _ := os.ReadFile(task + "/comm")
			f := statFields(task + "/stat")
			if len(f) < 13 {
				continue
			}
			utime, _ := strconv.ParseFloat(f[11], 64)
			stime, _ := strconv.ParseFloat(f[12], 64)
			out[kind+"/"+strings.TrimSpace(string(comm))] += (utime + stime) / 100 // USER_HZ
		}
	}
	return out
}

// statFields returns the fields of a /proc stat file after the command name
// (which may hold spaces): state, ppid, … (field 3 onwards of proc(5)).
func statFields(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return nil
	}
	return strings.Fields(s[i+2:])
}

// reniceTree sets the nice value of every thread of root and its
// descendants (Linux keeps one per thread). Chromium sets its renderers'
// priority itself, so a nice(1) around the test does not reach them; the
// benchmark uses this to keep unrelated work on a shared machine from
// stealing the page's frames. Errors (not root, not Linux) are ignored:
// the measurement then runs at normal priority.
func reniceTree(root, nice int) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	parent := map[int]int{}
	for _, d := range procs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if f := statFields(d + "/stat"); len(f) > 1 {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	for pid := range parent {
		p := pid
		for i := 0; i < 64 && p > 1 && p != root; i++ {
			p = parent[p]
		}
		if p != root {
			continue
		}
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/[0-9]*")
		for _, task := range tasks {
			if tid, err := strconv.Atoi(filepath.Base(task)); err == nil {
				_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice)
			}
		}
	}
}
