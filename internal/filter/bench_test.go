package filter

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// benchWords returns n deterministic pseudo-words: half Latin (4–9
// letters), half CJK (2–4 ideographs from the 3,000 code points after
// U+4E00), about the shape of a real list of banned words.
func benchWords(n int) []string {
	rng := rand.New(rand.NewPCG(2024, 4))
	words := make([]string, n)
	for i := range words {
		var b strings.Builder
		if i%2 == 0 {
			for range 4 + rng.IntN(6) {
				b.WriteByte(byte('a' + rng.IntN(26)))
			}
		} else {
			for range 2 + rng.IntN(3) {
				b.WriteRune(rune(0x4E00 + rng.IntN(3000)))
			}
		}
		words[i] = b.String()
	}
	return words
}

// benchTexts are typical danmaku, 10–40 runes: mostly Chinese, some
// English, emoji, full-width punctuation and capitals (which take the
// normalizing path), and a few that contain a word of the list.
func benchTexts(words []string) []string {
	return []string{
		"哈哈哈哈哈哈哈哈哈哈哈哈",
		"666666666666666666",
		"主播太强了吧这操作我服了",
		"前方高能预警前方高能预警",
		"awsl awsl awsl 太可爱了吧",
		"第一次来直播间主播好呀大家好",
		"lol nice play gg wp everyone",
		"this song is so good i could listen all day",
		"主播今天状态不错啊，这把稳了！",
		"Good Morning from Shanghai 早上好",
		"😀😀😀 笑死我了 😂",
		"这是什么神仙操作啊啊啊啊啊",
		"打卡打卡，每天都来看",
		"弹幕护体弹幕护体弹幕护体",
		"up主更新了吗 等好久了 " + words[1],
		"check this out " + words[0] + " lol",
	}
}

func BenchmarkMatch(b *testing.B) {
	words := benchWords(10000)
	f, err := New(words)
	if err != nil {
		b.Fatal(err)
	}
	texts := benchTexts(words)
	matched := 0
	for _, text := range texts {
		if f.Match(text) {
			matched++
		}
	}
	if matched != 2 {
		b.Fatalf("%d of %d texts match; the set should have exactly its 2 dirty ones", matched, len(texts))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f.Match(texts[i%len(texts)])
	}
}

// BenchmarkMatchKinds splits BenchmarkMatch's texts by the path they take.
func BenchmarkMatchKinds(b *testing.B) {
	words := benchWords(10000)
	f, err := New(words)
	if err != nil {
		b.Fatal(err)
	}
	kinds := []struct{ name, text string }{
		{"ascii", "lol nice play gg wp everyone"},
		{"cjk", "主播太强了吧这操作我服了"},
		{"fullwidth", "主播今天状态不错啊，这把稳了！"},
		{"capitals", "Good Morning from Shanghai 早上好"},
		{"accents", "Crème brûlée à la française"},
		{"thai", "สวัสดีครับ ยินดีต้อนรับ"},
		{"combining", "cafe\u0301 with a mark n\u0303"},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f.Match(k.text)
			}
		})
	}
}

func BenchmarkMask(b *testing.B) {
	words := benchWords(10000)
	f, err := New(words)
	if err != nil {
		b.Fatal(err)
	}
	texts := benchTexts(words)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.Mask(texts[i%len(texts)])
	}
}

func BenchmarkNew(b *testing.B) {
	words := benchWords(10000)
	b.ReportAllocs()
	var f *Filter
	for b.Loop() {
		f, _ = New(words)
	}
	a := f.ac
	size := len(a.states)*20 + len(a.labels) + len(a.targets)*4 + len(a.rows)*1024
	b.ReportMetric(float64(size)/(1<<20), "MiB")
	b.ReportMetric(float64(len(a.states)), "states")
	b.ReportMetric(float64(len(a.rows)), "rows")
}

func BenchmarkNormalize(b *testing.B) {
	texts := benchTexts(benchWords(2))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Normalize(texts[i%len(texts)])
	}
}
