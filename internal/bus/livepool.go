package bus

import (
	"hash/fnv"
	"runtime"
	"sync"

	"github.com/nats-io/nats.go"
)

// liveRooms delivers the live messages of every room subscription through a
// fixed set of dispatcher goroutines. nats.go gives each callback
// subscription a goroutine of its own, and a gateway subscribes once per
// room it holds: 100,000 rooms would be 100,000 goroutines. Here each room's
// subscription feeds the channel of one dispatcher, chosen by the subject,
// so a room's messages keep their order and the goroutines stay few.
//
// A dispatcher that falls behind fills its channel; NATS then drops what
// does not fit (a slow consumer), which the subscriber sees as a gap in the
// prev chain and reads back from the store, as for any lost live message.
type liveRooms struct {
	shards []*liveShard
	wg     sync.WaitGroup
}

// liveShard is one dispatcher and the subscriptions it serves.
type liveShard struct {
	ch chan *nats.Msg

	mu  sync.RWMutex // guards fns; held while a subscription is made, so that its first message finds it
	fns map[*nats.Subscription]func(*nats.Msg)
}

// liveBuffer is each dispatcher's channel: about a second of a hot room's
// messages, and room for bursts of many rooms.
const liveBuffer = 16384

func newLiveRooms() *liveRooms {
	l := &liveRooms{}
	for range max(4, 2*runtime.GOMAXPROCS(0)) {
		s := &liveShard{ch: make(chan *nats.Msg, liveBuffer), fns: make(map[*nats.Subscription]func(*nats.Msg))}
		l.shards = append(l.shards, s)
		l.wg.Add(1)
		go func() { defer l.wg.Done(); s.run() }()
	}
	return l
}

func (s *liveShard) run() {
	for m := range s.ch {
		s.mu.RLock()
		fn := s.fns[m.Sub]
		s.mu.RUnlock()
		if fn != nil {
			fn(m)
		}
	}
}

// subscribe calls fn for every message on subject, on the subject's
// dispatcher. After the returned unsubscribe, fn may still be running its
// last call but is not called again.
func (l *liveRooms) subscribe(conn *nats.Conn, subject string, fn func(*nats.Msg)) (func(), error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(subject))
	s := l.shards[h.Sum32()%uint32(len(l.shards))]
	s.mu.Lock()
	sub, err := conn.ChanSubscribe(subject, s.ch)
	if err == nil {
		s.fns[sub] = fn
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = sub.Unsubscribe()
			s.mu.Lock()
			delete(s.fns, sub)
			s.mu.Unlock()
		})
	}, nil
}

// close stops the dispatchers; call it once the connection is closed for
// good, when nothing can write to their channels any more.
func (l *liveRooms) close() {
	for _, s := range l.shards {
		close(s.ch)
	}
	l.wg.Wait()
}
