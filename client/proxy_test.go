package client_test

import (
	"net"
	"sync"
	"testing"
)

// proxy forwards TCP connections to a target so that tests can cut them
// (the client sees an abnormal closure, the server a dropped socket) or
// freeze them (bytes stop flowing but the sockets stay open, like a dead
// network path).
type proxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup // accept loop and pumps

	mu    sync.Mutex // guards links
	links []*link
}

type link struct {
	client, server net.Conn
	frozen         chan struct{} // closed by freeze
	dead           chan struct{} // closed by cut
	freezeOnce     sync.Once
	cutOnce        sync.Once
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: target, ln: ln}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is the WebSocket URL of the proxied /ws endpoint.
func (p *proxy) URL() string { return "ws://" + p.ln.Addr().String() + "/ws" }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		l := &link{client: c, server: s, frozen: make(chan struct{}), dead: make(chan struct{})}
		p.mu.Lock()
		p.links = append(p.links, l)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(l, c, s)
		go p.pump(l, s, c)
	}
}

// pump copies src to dst until either side ends, then cuts the link. Once
// the link is frozen, bytes read are held back until the link is cut.
func (p *proxy) pump(l *link, src, dst net.Conn) {
	defer p.wg.Done()
	defer l.cut()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case <-l.frozen:
				<-l.dead
				return
			default:
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (l *link) freeze() { l.freezeOnce.Do(func() { close(l.frozen) }) }

func (l *link) cut() {
	l.cutOnce.Do(func() {
		close(l.dead)
		l.client.Close()
		l.server.Close()
	})
}

// cutAll closes every open link.
func (p *proxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.links {
		l.cut()
	}
	p.links = nil
}

// freezeAll stops traffic on every open link without closing it. Links
// made afterwards work.
func (p *proxy) freezeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.links {
		l.freeze()
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.cutAll()
	p.wg.Wait()
}
