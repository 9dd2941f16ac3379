package moderation

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestMuteRoomAndEverywhere(t *testing.T) {
	b := openBus(t, "")
	s := openStore(t, b.Conn(), nil)
	ctx := ctxT(t)

	if err := s.Mute(ctx, Mute{Room: "lobby", User: "alice", Reason: "spam", By: "mod1"}); err != nil {
		t.Fatalf("Mute: %v", err)
	}
	m, ok := s.MutedFor("lobby", "alice")
	if !ok || m.Room != "lobby" || m.User != "alice" || m.Reason != "spam" || m.By != "mod1" || m.At.IsZero() || !m.Until.IsZero() {
		t.Fatalf("MutedFor(lobby, alice) = %+v, %v", m, ok)
	}
	if _, ok := s.MutedFor("other", "alice"); ok {
		t.Fatal("a mute in lobby silences alice in other")
	}
	if _, ok := s.MutedFor("lobby", "bob"); ok {
		t.Fatal("bob is muted")
	}

	if err := s.Mute(ctx, Mute{User: "bob"}); err != nil {
		t.Fatalf("Mute everywhere: %v", err)
	}
	for _, room := range []string{"lobby", "other", ""} {
		if m, ok := s.MutedFor(room, "bob"); !ok || m.Room != "" {
			t.Fatalf("MutedFor(%q, bob) = %+v, %v; want the mute everywhere", room, m, ok)
		}
	}

	if got := users(s.Mutes("")); !slices.Equal(got, []string{"/bob", "lobby/alice"}) {
		t.Fatalf("Mutes(\"\") = %v", got)
	}
	if got := users(s.Mutes("lobby")); !slices.Equal(got, []string{"lobby/alice"}) {
		t.Fatalf("Mutes(lobby) = %v", got)
	}

	// Unmuting in a room leaves a mute everywhere in force, and vice versa.
	if err := s.Mute(ctx, Mute{Room: "lobby", User: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmute(ctx, "lobby", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.MutedFor("lobby", "bob"); !ok {
		t.Fatal("unmuting bob in lobby lifted his mute everywhere")
	}
	if err := s.Unmute(ctx, "", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.MutedFor("lobby", "bob"); ok {
		t.Fatal("bob still muted")
	}
	if err := s.Unmute(ctx, "lobby", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.MutedFor("lobby", "alice"); ok {
		t.Fatal("alice still muted")
	}
	if got := s.Mutes(""); len(got) != 0 {
		t.Fatalf("Mutes after unmuting everyone = %v", got)
	}
	// Unmuting someone who is not muted is fine.
	if err := s.Unmute(ctx, "lobby", "nobody"); err != nil {
		t.Fatalf("Unmute(nobody): %v", err)
	}
}

func users(mutes []Mute) []string {
	out := make([]string, len(mutes))
	for i, m := range mutes {
		out[i] = m.Room + "/" + m.User
	}
	return out
}

func TestMutedForPrefersTheLongerMute(t *testing.T) {
	clock := newClock()
	b := openBus(t, "")
	s := openStore(t, b.Conn(), clock)
	ctx := ctxT(t)
	soon, later := clock.Now().Add(time.Minute), clock.Now().Add(time.Hour)
	if err := s.Mute(ctx, Mute{User: "u", Until: soon}); err != nil {
		t.Fatal(err)
	}
	if err := s.Mute(ctx, Mute{Room: "r", User: "u", Until: later}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.MutedFor("r", "u"); !m.Until.Equal(later) {
		t.Fatalf("MutedFor ends %v, want the room mute's %v", m.Until, later)
	}
	if err := s.Mute(ctx, Mute{User: "u"}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.MutedFor("r", "u"); !m.Until.IsZero() || m.Room != "" {
		t.Fatalf("MutedFor = %+v, want the mute everywhere, forever", m)
	}
}

func TestExpiry(t *testing.T) {
	clock := newClock()
	b := openBus(t, "")
	s := openStore(t, b.Conn(), clock)
	ctx := ctxT(t)

	if err := s.Mute(ctx, Mute{Room: "r", User: "u", Until: clock.Now()}); !errors.Is(err, ErrInvalidUntil) {
		t.Fatalf("Mute until now: %v, want ErrInvalidUntil", err)
	}
	if err := s.Ban(ctx, Ban{User: "u", Until: clock.Now().Add(-time.Second)}); !errors.Is(err, ErrInvalidUntil) {
		t.Fatalf("Ban until the past: %v, want ErrInvalidUntil", err)
	}

	until := clock.Now().Add(time.Minute)
	if err := s.Mute(ctx, Mute{Room: "r", User: "u", Until: until}); err != nil {
		t.Fatal(err)
	}
	if err := s.Mute(ctx, Mute{Room: "r", User: "forever"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ban(ctx, Ban{User: "u", Until: until}); err != nil {
		t.Fatal(err)
	}
	if m, ok := s.MutedFor("r", "u"); !ok || !m.Until.Equal(until) {
		t.Fatalf("MutedFor = %+v, %v", m, ok)
	}
	if _, ok := s.Banned("u"); !ok {
		t.Fatal("not banned")
	}

	clock.Advance(59 * time.Second)
	if _, ok := s.MutedFor("r", "u"); !ok {
		t.Fatal("mute ended early")
	}
	clock.Advance(time.Second)
	if m, ok := s.MutedFor("r", "u"); ok {
		t.Fatalf("mute in force at its Until: %+v", m)
	}
	if _, ok := s.Banned("u"); ok {
		t.Fatal("ban in force at its Until")
	}
	if got := users(s.Mutes("r")); !slices.Equal(got, []string{"r/forever"}) {
		t.Fatalf("Mutes(r) = %v", got)
	}
	if got := s.Bans(); len(got) != 0 {
		t.Fatalf("Bans = %v", got)
	}

	// The reads asked the sweeper to purge both entries from the bucket.
	muteK, _ := muteKey("r", "u")
	banK, _ := banKey("u")
	for _, key := range []string{muteK, banK} {
		waitFor(t, key+" purged", func() bool { return !inBucket(t, s, key) })
	}
	if !inBucket(t, s, mustMuteKey(t, "r", "forever")) {
		t.Fatal("the sweeper purged a mute in force")
	}
	s.mu.RLock()
	n := len(s.mutes) + len(s.bans)
	s.mu.RUnlock()
	if n != 1 {
		t.Fatalf("view holds %d mutes and bans after the sweep, want 1", n)
	}
}

// inBucket reports whether the bucket's stream holds any message for key:
// a value or a delete marker.
func inBucket(t testing.TB, s *Store, key string) bool {
	t.Helper()
	_, err := s.stream.GetLastMsgForSubject(ctxT(t), s.subjectPrefix+key)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return true
}

func mustMuteKey(t testing.TB, room, user string) string {
	t.Helper()
	key, err := muteKey(room, user)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestSweepKeepsNewerValues(t *testing.T) {
	clock := newClock()
	b := openBus(t, "")
	s := openStore(t, b.Conn(), clock)
	ctx := ctxT(t)
	key := mustMuteKey(t, "r", "u")

	if err := s.Mute(ctx, Mute{Room: "r", User: "u", Until: clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	s.mu.RLock()
	old := s.mutes[muteID{"r", "u"}].rev
	s.mu.RUnlock()
	if err := s.Mute(ctx, Mute{Room: "r", User: "u"}); err != nil {
		t.Fatal(err)
	}
	// A purge of the old revision, as a node that had not seen the new one
	// would do, leaves the new one.
	if err := s.purge(ctx, purgeable{key, old}); err != nil {
		t.Fatal(err)
	}
	other := openStore(t, b.Conn(), clock)
	if _, ok := other.MutedFor("r", "u"); !ok {
		t.Fatal("purging an old revision removed the newer one")
	}
}

func TestTombstonesArePurged(t *testing.T) {
	clock := newClock()
	b := openBus(t, "")
	s := openStore(t, b.Conn(), clock)
	ctx := ctxT(t)
	key := mustMuteKey(t, "r", "u")
	if err := s.Mute(ctx, Mute{Room: "r", User: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmute(ctx, "r", "u"); err != nil {
		t.Fatal(err)
	}
	s.sweep(ctx)
	if !inBucket(t, s, key) {
		t.Fatal("a fresh delete marker was purged")
	}
	clock.Advance(tombstoneAge + time.Minute) // the marker is stamped by the server, after the clock started
	s.sweep(ctx)
	if inBucket(t, s, key) {
		t.Fatal("an old delete marker was not purged")
	}
	s.mu.RLock()
	n := len(s.tombstones)
	s.mu.RUnlock()
	if n != 0 {
		t.Fatalf("%d tombstones left", n)
	}
}

// TestEveryNodeSees runs two Stores on two connections, as two nodes would,
// and checks that each sees the other's writes, and that OnBan fires on
// both.
func TestEveryNodeSees(t *testing.T) {
	b := openBus(t, "")
	a := openStore(t, b.Conn(), nil)
	other := openStore(t, dial(t, b), nil)
	ctx := ctxT(t)

	var mu sync.Mutex
	var seenA, seenOther []Ban
	cancelA := a.OnBan(func(ban Ban) { mu.Lock(); seenA = append(seenA, ban); mu.Unlock() })
	defer cancelA()
	arrived := make(chan time.Time, 100)
	cancelOther := other.OnBan(func(ban Ban) {
		arrived <- time.Now()
		mu.Lock()
		seenOther = append(seenOther, ban)
		mu.Unlock()
	})

	start := time.Now()
	if err := a.Ban(ctx, Ban{User: "troll", Reason: "abuse", By: "mod"}); err != nil {
		t.Fatal(err)
	}
	// A's own callbacks have run when Ban returns.
	mu.Lock()
	if len(seenA) != 1 || seenA[0].User != "troll" || seenA[0].Reason != "abuse" {
		t.Fatalf("A's OnBan saw %+v", seenA)
	}
	mu.Unlock()
	select {
	case at := <-arrived:
		t.Logf("ban reached the other node %v after Ban was called", at.Sub(start))
	case <-time.After(time.Second):
		t.Fatal("the other node's OnBan did not fire within a second")
	}
	if ban, ok := other.Banned("troll"); !ok || ban.By != "mod" {
		t.Fatalf("other.Banned = %+v, %v", ban, ok)
	}

	if err := other.Unban(ctx, "troll"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to see the unban", func() bool { _, ok := a.Banned("troll"); return !ok })

	if err := other.Mute(ctx, Mute{Room: "r", User: "x"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to see the mute", func() bool { _, ok := a.MutedFor("r", "x"); return ok })
	if err := a.SetRoom(ctx, "r", RoomSettings{Closed: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other node to see the room closed", func() bool { return other.Room("r").Closed })

	// After cancel, the callback is not called again.
	cancelOther()
	if err := a.Ban(ctx, Ban{User: "second"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other node to see the second ban", func() bool { _, ok := other.Banned("second"); return ok })
	mu.Lock()
	defer mu.Unlock()
	if len(seenOther) != 1 {
		t.Fatalf("the other node's cancelled OnBan saw %+v", seenOther)
	}
	if len(seenA) != 2 {
		t.Fatalf("A's OnBan saw %+v", seenA)
	}
}

// TestLatency measures how long a write on one node takes to reach another
// node's view.
func TestLatency(t *testing.T) {
	b := openBus(t, "")
	a := openStore(t, b.Conn(), nil)
	other := openStore(t, dial(t, b), nil)
	ctx := ctxT(t)
	arrived := make(chan time.Time, 1)
	defer other.OnBan(func(Ban) { arrived <- time.Now() })()

	const n = 50
	lat := make([]time.Duration, n)
	for i := range lat {
		start := time.Now()
		if err := a.Ban(ctx, Ban{User: "u" + strings.Repeat("x", i)}); err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-arrived:
			lat[i] = at.Sub(start)
		case <-time.After(time.Second):
			t.Fatalf("ban %d did not arrive within a second", i)
		}
	}
	slices.Sort(lat)
	t.Logf("write → other node's OnBan over %d bans: median %v, max %v", n, lat[n/2], lat[n-1])
}

func TestOnBanSkipsBansFromBeforeOpen(t *testing.T) {
	b := openBus(t, "")
	a := openStore(t, b.Conn(), nil)
	if err := a.Ban(ctxT(t), Ban{User: "old"}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	other := openStore(t, b.Conn(), nil)
	defer other.OnBan(func(Ban) { calls.Add(1) })()
	if _, ok := other.Banned("old"); !ok {
		t.Fatal("a new Store did not load the ban")
	}
	if err := a.Ban(ctxT(t), Ban{User: "new"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new ban", func() bool { return calls.Load() == 1 })
	if calls.Load() != 1 {
		t.Fatalf("OnBan called %d times", calls.Load())
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	until := clock.Now().Add(time.Hour).Truncate(time.Millisecond)

	b := openBus(t, dir)
	s := openStore(t, b.Conn(), clock)
	ctx := ctxT(t)
	if err := s.Mute(ctx, Mute{Room: "r", User: "u", Until: until, Reason: "why", By: "mod"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Mute(ctx, Mute{User: "everywhere"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Mute(ctx, Mute{Room: "r", User: "gone"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmute(ctx, "r", "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ban(ctx, Ban{User: "banned", Reason: "abuse"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRoom(ctx, "r", RoomSettings{SlowModeSeconds: 5, MaxTextRunes: 50}); err != nil {
		t.Fatal(err)
	}
	wantMutes, wantBans := s.Mutes(""), s.Bans()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = openBus(t, dir)
	s = openStore(t, b.Conn(), clock)
	if got := s.Mutes(""); !sameMutes(got, wantMutes) {
		t.Fatalf("after restart Mutes = %+v, want %+v", got, wantMutes)
	}
	if got := s.Bans(); len(got) != 1 || got[0].User != "banned" || got[0].Reason != "abuse" || !got[0].At.Equal(wantBans[0].At) {
		t.Fatalf("after restart Bans = %+v, want %+v", got, wantBans)
	}
	if m, ok := s.MutedFor("r", "u"); !ok || !m.Until.Equal(until) || m.Reason != "why" || m.By != "mod" {
		t.Fatalf("after restart MutedFor = %+v, %v", m, ok)
	}
	if _, ok := s.MutedFor("r", "gone"); ok {
		t.Fatal("an unmuted user is muted again after a restart")
	}
	if got := s.Room("r"); got != (RoomSettings{SlowModeSeconds: 5, MaxTextRunes: 50}) {
		t.Fatalf("after restart Room = %+v", got)
	}
	// Time passes while the node is down: the mute has expired on reload.
	clock.Advance(2 * time.Hour)
	if _, ok := s.MutedFor("r", "u"); ok {
		t.Fatal("expired mute in force")
	}
}

func sameMutes(a, b []Mute) bool {
	return slices.EqualFunc(a, b, func(x, y Mute) bool {
		return x.Room == y.Room && x.User == y.User && x.Until.Equal(y.Until) &&
			x.Reason == y.Reason && x.By == y.By && x.At.Equal(y.At)
	})
}

func TestRoomSettings(t *testing.T) {
	b := openBus(t, "")
	s := openStore(t, b.Conn(), nil)
	ctx := ctxT(t)

	if got := s.Room("r"); got != (RoomSettings{}) {
		t.Fatalf("Room of a room never set = %+v", got)
	}
	for _, tc := range []struct {
		room string
		rs   RoomSettings
		want error
	}{
		{"r", RoomSettings{SlowModeSeconds: -1}, ErrInvalidSettings},
		{"r", RoomSettings{SlowModeSeconds: 3601}, ErrInvalidSettings},
		{"r", RoomSettings{MaxTextRunes: -1}, ErrInvalidSettings},
		{"r", RoomSettings{MaxTextRunes: 1001}, ErrInvalidSettings},
		{"", RoomSettings{Closed: true}, ErrInvalidRoom},
		{"a b", RoomSettings{Closed: true}, ErrInvalidRoom},
		{strings.Repeat("r", 65), RoomSettings{Closed: true}, ErrInvalidRoom},
	} {
		if err := s.SetRoom(ctx, tc.room, tc.rs); !errors.Is(err, tc.want) {
			t.Errorf("SetRoom(%q, %+v) = %v, want %v", tc.room, tc.rs, err, tc.want)
		}
	}

	for _, rs := range []RoomSettings{
		{SlowModeSeconds: 3600, Closed: true, MaxTextRunes: 1000},
		{SlowModeSeconds: 10},
		{MaxTextRunes: 20},
		{Closed: true},
	} {
		if err := s.SetRoom(ctx, "a.b:c-d_e", rs); err != nil {
			t.Fatalf("SetRoom(%+v): %v", rs, err)
		}
		if got := s.Room("a.b:c-d_e"); got != rs {
			t.Fatalf("Room = %+v, want %+v", got, rs)
		}
	}
	// The zero settings remove the room's entry.
	if err := s.SetRoom(ctx, "a.b:c-d_e", RoomSettings{}); err != nil {
		t.Fatal(err)
	}
	if got := s.Room("a.b:c-d_e"); got != (RoomSettings{}) {
		t.Fatalf("Room after reset = %+v", got)
	}
	s.mu.RLock()
	n := len(s.rooms)
	s.mu.RUnlock()
	if n != 0 {
		t.Fatalf("view holds %d rooms after the reset", n)
	}
}

func TestRoomSettingsHelpers(t *testing.T) {
	for _, tc := range []struct {
		room, server, want int
	}{{0, 200, 200}, {50, 200, 50}, {500, 200, 200}, {200, 200, 200}} {
		if got := (RoomSettings{MaxTextRunes: tc.room}).TextLimit(tc.server); got != tc.want {
			t.Errorf("TextLimit(room %d, server %d) = %d, want %d", tc.room, tc.server, got, tc.want)
		}
	}
	if got := (RoomSettings{SlowModeSeconds: 3}).SlowMode(); got != 3*time.Second {
		t.Errorf("SlowMode = %v", got)
	}
}

func TestValidation(t *testing.T) {
	b := openBus(t, "")
	s := openStore(t, b.Conn(), nil)
	ctx := ctxT(t)
	long := strings.Repeat("x", 129)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"empty user", s.Mute(ctx, Mute{Room: "r"}), ErrInvalidUser},
		{"long user", s.Mute(ctx, Mute{User: long}), ErrInvalidUser},
		{"bad room", s.Mute(ctx, Mute{Room: "no/slash", User: "u"}), ErrInvalidRoom},
		{"long reason", s.Mute(ctx, Mute{User: "u", Reason: strings.Repeat("x", 1025)}), ErrInvalidReason},
		{"long by", s.Ban(ctx, Ban{User: "u", By: long}), ErrInvalidUser},
		{"ban empty", s.Ban(ctx, Ban{}), ErrInvalidUser},
		{"unban empty", s.Unban(ctx, ""), ErrInvalidUser},
		{"unmute bad room", s.Unmute(ctx, "a b", "u"), ErrInvalidRoom},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if got := len(s.Mutes("")) + len(s.Bans()); got != 0 {
		t.Fatalf("invalid writes stored %d entries", got)
	}
}

func TestOddIDs(t *testing.T) {
	b := openBus(t, "")
	s := openStore(t, b.Conn(), nil)
	other := openStore(t, dial(t, b), nil)
	ctx := ctxT(t)
	ids := []string{
		"with space", "dots.in.it", "..", ".", "slash/es", "back\\slash", "日本語ユーザー", "emoji 🎉",
		"*", ">", "$KV", "a.*.>", "_all", "tab\tnew\nline", "nul\x00byte", "bad utf-8 \xff\xfe",
		"=", "-_", strings.Repeat("ü", 64), // 128 bytes
	}
	for _, id := range ids {
		if err := s.Mute(ctx, Mute{Room: "r", User: id}); err != nil {
			t.Fatalf("Mute(%q): %v", id, err)
		}
		if err := s.Mute(ctx, Mute{User: id}); err != nil {
			t.Fatalf("Mute everywhere(%q): %v", id, err)
		}
		if err := s.Ban(ctx, Ban{User: id}); err != nil {
			t.Fatalf("Ban(%q): %v", id, err)
		}
	}
	waitFor(t, "the other node to see every ban", func() bool { return len(other.Bans()) == len(ids) })
	for _, st := range []*Store{s, other} {
		for _, id := range ids {
			if m, ok := st.MutedFor("r", id); !ok || m.User != id {
				t.Errorf("MutedFor(r, %q) = %+v, %v", id, m, ok)
			}
			if ban, ok := st.Banned(id); !ok || ban.User != id {
				t.Errorf("Banned(%q) = %+v, %v", id, ban, ok)
			}
		}
		want := slices.Sorted(slices.Values(ids))
		var got []string
		for _, m := range st.Mutes("r") {
			got = append(got, m.User)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Mutes(r) = %q, want %q", got, want)
		}
	}
	for _, id := range ids {
		if err := s.Unmute(ctx, "r", id); err != nil {
			t.Fatalf("Unmute(%q): %v", id, err)
		}
	}
	waitFor(t, "the other node to see the unmutes", func() bool { return len(other.Mutes("r")) == 0 })
	if got := len(other.Mutes("")); got != len(ids) {
		t.Fatalf("%d mutes everywhere left, want %d", got, len(ids))
	}
}

func TestConcurrentReadsAndWrites(t *testing.T) {
	b := openBus(t, "")
	s := openStore(t, b.Conn(), nil)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.MutedFor("r", "u1")
				s.Banned("u1")
				s.Mutes("")
				s.Room("r")
			}
		})
	}
	for i := range 20 {
		user := "u" + string(rune('a'+i))
		if err := s.Mute(ctx, Mute{Room: "r", User: user}); err != nil {
			t.Fatal(err)
		}
		if err := s.Ban(ctx, Ban{User: user}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRoom(ctx, "r", RoomSettings{SlowModeSeconds: i}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if got := len(s.Mutes("r")); got != 20 {
		t.Fatalf("%d mutes, want 20", got)
	}
}

func TestClose(t *testing.T) {
	b := openBus(t, "")
	s, err := Open(ctxT(t), Config{Conn: b.Conn()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if err := s.Mute(ctx, Mute{User: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := s.MutedFor("r", "u"); !ok {
		t.Fatal("the view is gone after Close")
	}
	for name, err := range map[string]error{
		"Mute":    s.Mute(ctx, Mute{User: "v"}),
		"Unmute":  s.Unmute(ctx, "", "u"),
		"Ban":     s.Ban(ctx, Ban{User: "v"}),
		"Unban":   s.Unban(ctx, "v"),
		"SetRoom": s.SetRoom(ctx, "r", RoomSettings{Closed: true}),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

// TestBusClosedFirst closes the connection under an open Store: the watcher
// ends, and Close still returns.
func TestBusClosedFirst(t *testing.T) {
	b := openBus(t, "")
	s, err := Open(ctxT(t), Config{Conn: b.Conn()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher outlived the connection")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenConfig(t *testing.T) {
	if _, err := Open(ctxT(t), Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Open without Conn: %v, want ErrInvalidConfig", err)
	}
	b := openBus(t, "")
	for _, cfg := range []Config{
		{Conn: b.Conn(), Bucket: "no.dots"},
		{Conn: b.Conn(), Replicas: -1},
		{Conn: b.Conn(), Replicas: 6},
	} {
		if _, err := Open(ctxT(t), cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Open(%+v): %v, want ErrInvalidConfig", cfg, err)
		}
	}
	// Two buckets are independent.
	s1, err := Open(ctxT(t), Config{Conn: b.Conn(), Bucket: "one"})
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := Open(ctxT(t), Config{Conn: b.Conn(), Bucket: "two"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s1.Ban(ctxT(t), Ban{User: "u"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s2.Banned("u"); ok {
		t.Fatal("a ban in bucket one shows in bucket two")
	}
}

func BenchmarkMutedFor(b *testing.B) {
	bs := openBus(b, "")
	s := openStore(b, bs.Conn(), nil)
	ctx := ctxT(b)
	for i := range 1000 {
		if err := s.Mute(ctx, Mute{Room: "r", User: "muted" + strings.Repeat("x", i%100) + string(rune('a'+i%26))}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.MutedFor("r", "someone")
		}
	})
}
