package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// workerHandle is the parent's end of one worker: a child process, or a
// goroutine when the Config has no WorkerCommand (tests).
type workerHandle struct {
	id  int
	pid int // 0 for an in-process worker

	inMu sync.Mutex // guards in
	in   io.WriteCloser
	enc  *json.Encoder

	events chan event // every event but ticks; closed when the output ends

	tickMu sync.Mutex // guards last
	last   tick

	done chan struct{} // closed when the worker has ended
	err  error         // set before done is closed
}

// startWorker starts worker id. Its output is read by a goroutine that ends
// when the worker does; done is closed after it.
func startWorker(id int, argv []string, stderr io.Writer, log *slog.Logger) (*workerHandle, error) {
	h := &workerHandle{id: id, events: make(chan event, 16), done: make(chan struct{})}
	var out io.ReadCloser
	var wait func() error
	if len(argv) > 0 {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stderr = stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		o, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("bench: start worker: %w", err)
		}
		h.pid, h.in, out, wait = cmd.Process.Pid, in, o, cmd.Wait
	} else {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		errc := make(chan error, 1)
		go func() {
			err := RunWorker(context.Background(), inR, outW, log.With("worker", id), true)
			_ = outW.Close()
			_ = inR.Close()
			errc <- err
		}()
		h.in, out, wait = inW, outR, func() error { return <-errc }
	}
	h.enc = json.NewEncoder(h.in)
	go func() {
		h.read(out)
		h.err = wait()
		close(h.done)
	}()
	return h, nil
}

func (h *workerHandle) read(out io.Reader) {
	defer close(h.events)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), maxPipeLine)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			h.events <- event{Ev: evFatal, Error: "bad worker output: " + err.Error()}
			continue
		}
		if e.Ev == evTick && e.Tick != nil {
			h.tickMu.Lock()
			h.last = *e.Tick
			h.tickMu.Unlock()
			continue
		}
		h.events <- e
	}
	_, _ = io.Copy(io.Discard, out)
}

func (h *workerHandle) send(c command) error {
	h.inMu.Lock()
	defer h.inMu.Unlock()
	if err := h.enc.Encode(c); err != nil {
		return fmt.Errorf("bench: worker %d: %w", h.id, err)
	}
	return nil
}

func (h *workerHandle) lastTick() tick {
	h.tickMu.Lock()
	defer h.tickMu.Unlock()
	return h.last
}

// await returns the worker's next event, which must be want.
func (h *workerHandle) await(ctx context.Context, want string, timeout time.Duration) (event, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case e, ok := <-h.events:
		switch {
		case !ok:
			<-h.done
			return e, fmt.Errorf("%w: worker %d: %v", ErrWorkerDied, h.id, h.err)
		case e.Ev == evFatal:
			return e, fmt.Errorf("bench: worker %d: %s", h.id, e.Error)
		case e.Ev != want:
			return e, fmt.Errorf("bench: worker %d: got %q, want %q", h.id, e.Ev, want)
		}
		return e, nil
	case <-t.C:
		return event{}, fmt.Errorf("bench: worker %d: no %q after %v", h.id, want, timeout)
	case <-ctx.Done():
		return event{}, ctx.Err()
	}
}

// stop closes the worker's input (it exits) and waits for it, killing a
// child process that does not end in time.
func (h *workerHandle) stop(timeout time.Duration) {
	h.inMu.Lock()
	_ = h.in.Close()
	h.inMu.Unlock()
	select {
	case <-h.done:
	case <-time.After(timeout):
		if h.pid > 0 {
			_ = syscall.Kill(h.pid, syscall.SIGKILL)
		}
		<-h.done
	}
}
