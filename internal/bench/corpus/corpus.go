// Package corpus generates the danmaku texts the load generator publishes:
// varied, deterministic from a seed, and shaped like a live room's comments
// rather than one repeated word, so that the bytes a viewer receives and
// what permessage-deflate makes of them are measured on realistic input.
// The gateway's deflate benchmark builds its batches from it too.
//
// A text is one of these kinds, with these shares (Kinds lists them):
//
//   - meme runs (30%): 2333…, 哈哈哈…, 666…, hhh…, ？？？ and the like, of
//     varied length, plus a few short slang words (awsl, yyds, 草);
//   - short Chinese reactions (28%): a phrase, sometimes with a particle
//     or full-width punctuation after it;
//   - Chinese sentences (17%): one to three clauses of opener, subject,
//     comment and tail, joined by full-width commas;
//   - English and mixed (12%): English phrases, and Chinese with Latin
//     words in it;
//   - emoji (8%): emoji runs, alone or after a short phrase;
//   - numbers and times (5%): a video time, a count, a check-in.
//
// On top of that, 15% of texts repeat one of the 32 texts before them, as
// a wave of viewers posting the same comment does. Every text has 2–60
// runes; the mean is about 8 runes and 20 bytes of UTF-8. The word lists
// are written for this package.
package corpus

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of a text's length, in runes.
const (
	MinRunes = 2
	MaxRunes = 60
)

// Kind is what shape a text was generated in.
type Kind int

// The kinds of text, in the order of Kinds.
const (
	Meme Kind = iota
	Reaction
	Sentence
	Latin
	Emoji
	Number
)

// Kinds lists each kind with its share of the texts that are not echoes.
var Kinds = []struct {
	Kind  Kind
	Name  string
	Share float64
}{
	{Meme, "meme run", 0.30},
	{Reaction, "short reaction", 0.28},
	{Sentence, "sentence", 0.17},
	{Latin, "English or mixed", 0.12},
	{Emoji, "emoji", 0.08},
	{Number, "number or time", 0.05},
}

const (
	// EchoShare of the texts repeat one of the EchoWindow texts before
	// them.
	EchoShare  = 0.15
	EchoWindow = 32
)

// Corpus is a deterministic stream of texts: Text(i) depends only on the
// seed and i, so concurrent publishers may ask for any index in any order
// and a run with the same seed publishes the same texts. It is safe for
// concurrent use (it holds no state beyond the seed).
type Corpus struct{ seed uint64 }

// New returns the corpus of seed.
func New(seed uint64) Corpus { return Corpus{seed: seed} }

// Text returns text number i.
func (c Corpus) Text(i uint64) string {
	t, _ := c.generate(i)
	return t
}

// TextKind returns text number i and the kind it was generated as; an
// echo has the kind of the text it repeats, and echo is true.
func (c Corpus) TextKind(i uint64) (text string, kind Kind, echo bool) {
	t, k := c.generate(i)
	return t, k, c.echoOf(i) != i
}

func (c Corpus) rng(i uint64) *rand.Rand {
	return rand.New(rand.NewPCG(c.seed, i))
}

// echoOf follows i's echoes back to the text that was generated, not
// repeated. Each step goes back at least one index and index 0 never
// echoes, so it ends.
func (c Corpus) echoOf(i uint64) uint64 {
	for i > 0 {
		r := c.rng(i)
		if r.Float64() >= EchoShare {
			return i
		}
		i -= 1 + r.Uint64N(min(i, EchoWindow))
	}
	return 0
}

func (c Corpus) generate(i uint64) (string, Kind) {
	i = c.echoOf(i)
	r := c.rng(i)
	r.Float64() // the echo draw, so that the rest does not depend on it
	kind := pickKind(r.Float64())
	return fit(build(r, kind)), kind
}

func pickKind(x float64) Kind {
	for _, k := range Kinds {
		if x < k.Share {
			return k.Kind
		}
		x -= k.Share
	}
	return Kinds[len(Kinds)-1].Kind
}

// fit doubles a one-rune text (草 → 草草, as viewers type it) and cuts a
// long one at MaxRunes.
func fit(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n < MinRunes:
		return strings.Repeat(s, MinRunes)
	case n > MaxRunes:
		k := 0
		for i := range s {
			if k == MaxRunes {
				return s[:i]
			}
			k++
		}
	}
	return s
}

func one(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

// maybe returns one of list with probability p, else "".
func maybe(r *rand.Rand, p float64, list []string) string {
	if r.Float64() < p {
		return one(r, list)
	}
	return ""
}

func build(r *rand.Rand, k Kind) string {
	switch k {
	case Meme:
		return meme(r)
	case Reaction:
		return one(r, reactions) + maybe(r, 0.45, tails)
	case Sentence:
		return sentence(r)
	case Latin:
		if r.IntN(2) == 0 {
			return one(r, english) + maybe(r, 0.2, []string{"!", "!!", "?", " lol", " haha"})
		}
		return one(r, mixed) + maybe(r, 0.3, tails)
	case Emoji:
		e := strings.Repeat(one(r, emoji), 1+r.IntN(4))
		switch r.IntN(3) {
		case 0:
			return e
		case 1:
			return one(r, reactions) + e
		default:
			return e + one(r, emoji)
		}
	default:
		return number(r)
	}
}

// meme is a run of one of the repeated memes, of a varied length.
func meme(r *rand.Rand) string {
	switch x := r.IntN(100); {
	case x < 22:
		return "233" + strings.Repeat("3", r.IntN(8))
	case x < 44:
		return strings.Repeat("哈", 2+r.IntN(11))
	case x < 60:
		return strings.Repeat("6", 3+r.IntN(6))
	case x < 68:
		return strings.Repeat("h", 3+r.IntN(8))
	case x < 76:
		return strings.Repeat(one(r, []string{"？", "?", "！", "啊"}), 2+r.IntN(5))
	default:
		return one(r, slang)
	}
}

// sentence joins one to three clauses with full-width commas.
func sentence(r *rand.Rand) string {
	var b strings.Builder
	for n := range 1 + r.IntN(3) {
		if n > 0 {
			b.WriteString("，")
		}
		b.WriteString(maybe(r, 0.35, openers))
		b.WriteString(one(r, subjects))
		b.WriteString(one(r, comments))
	}
	b.WriteString(maybe(r, 0.5, tails))
	return b.String()
}

func number(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return itoa(r.IntN(60)) + ":" + pad2(r.IntN(60)) + " " + one(r, []string{"名场面", "这里", "高能", "开始了", "看这里", "神转折"})
	case 1:
		return "第" + itoa(1+r.IntN(99999)) + "个" + one(r, []string{"看的", "弹幕", "来的", ""})
	case 2:
		return "打卡第" + itoa(1+r.IntN(400)) + "天"
	default:
		return itoa(2000+r.IntN(27)) + "年了还有人看吗"
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// pad2 is n in two digits, as the seconds of a video time.
func pad2(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

var (
	slang = []string{
		"awsl", "yyds", "xswl", "nb", "nbnb", "草", "典", "绝了", "好耶", "芜湖",
		"哇哦", "牛", "妙啊", "懂了", "破防", "泪目", "笑死", "绷不住了",
	}
	reactions = []string{
		"来了来了", "前方高能", "好家伙", "太强了", "这也行", "离谱", "笑死我了",
		"名场面", "爷青回", "泪目了", "好听", "好看", "太可爱了", "我哭了",
		"这是什么神仙", "冲冲冲", "稳了", "没想到吧", "这波不亏", "学到了",
		"下次一定", "已三连", "妈妈问我为什么跪着看", "有内味了", "开始了",
		"经典", "来晚了", "还有谁", "太真实了", "破防了", "我直接好家伙",
		"起飞", "绝绝子", "上头了", "我悟了", "就这", "帅", "好甜", "吓死我了",
		"前排", "打call", "完美", "有被笑到", "救命", "啊这", "晚安", "早上好",
		"感动", "心疼", "好耶好耶", "厉害了", "支持一下", "辛苦了",
	}
	tails = []string{"！", "！！", "？", "啊", "了", "吧", "呀", "~", "。", "！！！", "hhh", "哈哈"}

	openers = []string{
		"说真的", "不得不说", "讲道理", "我宣布", "只有我觉得", "刚才", "其实",
		"没人发现吗", "听我说", "第一次看", "看了三遍", "重点来了",
	}
	subjects = []string{
		"这个镜头", "这首歌", "主播", "up主", "这段剪辑", "后面那个人", "左边的猫",
		"这个配乐", "这一幕", "弹幕", "解说", "这个操作", "字幕组", "前面的",
		"这画质", "这个表情", "这段台词", "这个反转", "评论区", "他的声音",
	}
	comments = []string{
		"太好笑了", "真的绝了", "我能看一百遍", "让我想起了小时候", "拍得太用心了",
		"简直是神来之笔", "节奏把握得刚刚好", "一点都不尴尬", "有点东西",
		"比原版还好", "怎么做到的", "值得一个三连", "我已经循环了", "太有感觉了",
		"看得我头皮发麻", "细节拉满", "完全没想到", "真的很治愈", "有点离谱",
		"让人忍不住笑出声",
	}

	english = []string{
		"lol", "gg", "nice", "first", "so cute", "omg", "wow", "hello from Brazil",
		"this part again", "who is here in 2026", "best part", "I love this song",
		"can't stop laughing", "legend", "respect", "good night everyone", "LMAO",
		"what just happened", "that timing", "peak content", "ok this is art",
	}
	mixed = []string{
		"up主yyds", "BGM是什么", "bgm叫什么名字", "全体起立 OK", "前方高能 warning",
		"这个part太燃了", "打call打call", "C位出道", "high到不行", "get到了",
		"PPT画质", "AI做的吗", "求BGM", "这个skr", "emo了", "GG了", "nice啊",
		"好 nice", "yyds 绝了", "1080P 重温", "OP好听", "ED也好听",
	}
	emoji = []string{
		"😂", "🤣", "👍", "🔥", "❤️", "😭", "🙏", "👏", "😍", "🐶", "🎉", "✨",
		"😅", "🤔", "💯", "👍🏻", "🌹", "🍉",
	}
)
