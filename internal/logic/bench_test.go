package logic

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/protocol"
)

// benchSendTexts are typical danmaku: mostly plain CJK and lowercase text,
// which normalizes to itself, and some with capitals, full-width forms or a
// zero-width space, which take the normalizing path; two hold a listed word.
var benchSendTexts = []string{
	"哈哈哈哈哈哈哈哈哈哈哈哈",
	"666666666666666666",
	"主播太强了吧这操作我服了",
	"前方高能预警前方高能预警",
	"awsl awsl awsl 太可爱了吧",
	"lol nice play gg wp everyone",
	"this song is so good i could listen all day",
	"主播今天状态不错啊，这把稳了！",
	"Good Morning from Shanghai 早上好",
	"😀😀😀 笑死我了 😂",
	"ＧＧ ＷＰ 下一把",
	"zero\u200bwidth joiner here",
	"Crème brûlée à la française",
	"打卡打卡，每天都来看",
	"up主更新了吗 等好久了 广告位",
	"check this out SPAM lol",
}

// BenchmarkSendPipeline measures a viewer's send up to the store: every
// check (normalization, length, limits, duplicates, the keyword filter) and
// the encoding. The clock moves a minute a reading so that the rate and
// duplicate windows never refuse a repeated text.
func BenchmarkSendPipeline(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := bus.Open(ctx, bus.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	words, err := filter.New([]string{"spam", "scam", "广告", "代练", "刷屏", "外挂"})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		mask bool
	}{{"reject", false}, {"mask", true}} {
		b.Run(mode.name, func(b *testing.B) {
			var holder filter.Holder
			holder.Store(words)
			clock := time.UnixMilli(1763900000000)
			l, err := New(Config{Store: store, Filter: &holder, FilterMask: mode.mask, SendRate: -1,
				Now: func() time.Time { clock = clock.Add(time.Minute); return clock }})
			if err != nil {
				b.Fatal(err)
			}
			user := protocol.User{ID: "bench", Name: "bench", Role: protocol.RoleViewer}
			msg := protocol.ClientMessage{Op: protocol.OpSend, Room: "bench"}
			send := func(i int) bool {
				msg.Text = benchSendTexts[i%len(benchSendTexts)]
				var body protocol.Body
				if err := l.accept(user, &msg, &body); err != nil {
					if err.Code != protocol.CodeBlockedContent {
						b.Fatal(err)
					}
					return false
				}
				l.finish(&body)
				return true
			}
			// The last two texts hold a listed word: only mask mode lets
			// them through.
			for i, text := range benchSendTexts {
				want := mode.mask || i < len(benchSendTexts)-2
				if got := send(i); got != want {
					b.Fatalf("%s mode: %q accepted %v, want %v", mode.name, text, got, want)
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				send(i)
			}
		})
	}
}

// BenchmarkPublishRequest measures an API publish request's own work, up to
// the store: decoding the body, validating and encoding every message, for
// a request of one message and one of 100, each with a data object as the
// bench sends. ns/op and allocs/op are per request.
func BenchmarkPublishRequest(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := bus.Open(ctx, bus.Config{}) // New requires one; nothing is stored
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	l, err := New(Config{Store: store, SendRate: -1})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 100} {
		var body []byte
		body = append(body, `{"messages":[`...)
		for i := range n {
			if i > 0 {
				body = append(body, ',')
			}
			body = fmt.Appendf(body, `{"text":%q,"data":{"t":1764633600000000000,"via":0,"seq":%d}}`, benchSendTexts[i%len(benchSendTexts)], i)
		}
		body = append(body, "]}"...)
		b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req, err := DecodePublish(body)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := l.records(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
