package textmodel

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"
)

// toy is a small separable set: complaints against praise, in Korean with
// spacing and spelling variants.
func toy() []Example {
	var ex []Example
	neg := []string{"앱이 자꾸 튕겨요", "로그인 안돼요", "로그인안됨", "결제가 안 되네요 ㅠㅠ", "너무 느려요", "최악이에요"}
	pos := []string{"너무 좋아요", "최고예요", "빠르고 편해요", "디자인 예뻐요", "만족합니다", "잘 돼요 감사해요"}
	for i := range 20 {
		for _, t := range neg {
			ex = append(ex, Example{Text: fmt.Sprintf("%s %d", t, i%3), Label: false})
		}
		for _, t := range pos {
			ex = append(ex, Example{Text: fmt.Sprintf("%s %d", t, i%3), Label: true})
		}
	}
	return ex
}

var toyConfig = TrainConfig{
	Features: Features{Bits: 16, CharMin: 1, CharMax: 3, JoinMin: 2, JoinMax: 3, Words: true, WordBigrams: true},
	Epochs:   5, Rate: 0.2, NB: true, NBAlpha: 1, Seed: 1,
}

func train(t *testing.T, c TrainConfig) *Model {
	t.Helper()
	m, err := Train(Hash(c.Features, toy()), c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrainSeparatesAndGeneralises(t *testing.T) {
	for _, nb := range []bool{true, false} {
		c := toyConfig
		c.NB = nb
		m := train(t, c)
		for _, tc := range []struct {
			text string
			pos  bool
		}{
			{"앱이 계속 튕겨요", false}, // unseen word order and adverb
			{"로그인이 안 되요", false}, // spacing and spelling variant
			{"정말 좋아요", true},
			{"편하고 빨라요 최고", true},
		} {
			if p := m.Prob(tc.text); (p > 0.5) != tc.pos {
				t.Errorf("nb=%v: p(%q) = %.3f, want positive %v", nb, tc.text, p, tc.pos)
			}
		}
	}
}

func TestDeterministicBytes(t *testing.T) {
	var a, b bytes.Buffer
	if _, err := train(t, toyConfig).WriteTo(&a); err != nil {
		t.Fatal(err)
	}
	if _, err := train(t, toyConfig).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two trainings on the same input wrote different bytes")
	}
	if a.Len() != headerLen+1<<toyConfig.Features.Bits {
		t.Errorf("model file %d bytes, want %d", a.Len(), headerLen+1<<toyConfig.Features.Bits)
	}
}

func TestLoadRoundTrip(t *testing.T) {
	m := train(t, toyConfig)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got.Features != m.Features || got.Bias != m.Bias || got.Scale != m.Scale || !slices.Equal(got.W, m.W) {
		t.Fatal("loaded model differs from the written one")
	}
	for _, text := range []string{"로그인 안돼요", "", "   ", "good app 👍"} {
		if a, b := m.Logit(text), got.Logit(text); a != b {
			t.Errorf("logit(%q): %v before, %v after load", text, a, b)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	m := train(t, toyConfig)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	bad := func(f func([]byte) []byte) []byte { return f(slices.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     bad(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version":   bad(func(b []byte) []byte { b[4] = 9; return b }),
		"bits":      bad(func(b []byte) []byte { b[5] = 40; return b }),
		"n-grams":   bad(func(b []byte) []byte { b[6], b[7] = 4, 2; return b }),
		"truncated": good[:len(good)-1],
	} {
		if _, err := Load(b); err == nil {
			t.Errorf("%s: Load accepted a bad file", name)
		}
	}
}

func TestValidate(t *testing.T) {
	for name, c := range map[string]TrainConfig{
		"bits":        {Features: Features{Bits: 4, Words: true}, Epochs: 1, Rate: 0.1},
		"no features": {Features: Features{Bits: 16}, Epochs: 1, Rate: 0.1},
		"range":       {Features: Features{Bits: 16, CharMin: 3, CharMax: 2}, Epochs: 1, Rate: 0.1},
		"epochs":      {Features: Features{Bits: 16, Words: true}, Epochs: 0, Rate: 0.1},
		"rate":        {Features: Features{Bits: 16, Words: true}, Epochs: 1, Rate: 0},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
	if err := toyConfig.Validate(); err != nil {
		t.Errorf("toy config: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"ㅋㅋㅋㅋㅋ 재밌다!!!!": " ㅋㅋ 재밌다!! ",
		"  Good\tAPP  ": " good app ",
		"":              " ",
		"❤️❤️":          " ❤❤ ",
	} {
		if got := string(normalize(nil, in)); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSpacingVariantsShareFeatures checks that the space-free n-grams make
// "안 돼요" and "안돼요" mostly the same features.
func TestSpacingVariantsShareFeatures(t *testing.T) {
	f := Features{Bits: 20, JoinMin: 2, JoinMax: 3}
	set := func(s string) map[uint32]bool {
		m := map[uint32]bool{}
		f.each(normalize(nil, s), func(h uint32) { m[h] = true })
		return m
	}
	a, b := set("로그인 안 돼요"), set("로그인안돼요")
	for h := range a {
		if !b[h] {
			t.Fatalf("join n-grams differ between spacing variants")
		}
	}
}

func TestCalibrate(t *testing.T) {
	// logits twice as large as the truth: Platt scaling halves them
	var z []float64
	var y []bool
	for i := range 2000 {
		x := float64(i%200-100) / 25
		p := 1 / (1 + math.Exp(-x))
		for k := range 10 {
			z = append(z, 2*x)
			y = append(y, float64(k)/10+0.05 < p)
		}
	}
	a, b := Calibrate(z, y)
	if math.Abs(a-0.5) > 0.05 || math.Abs(b) > 0.05 {
		t.Errorf("Calibrate = %.3f, %.3f, want about 0.5, 0", a, b)
	}
}

func TestLogitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	m := train(t, toyConfig)
	m.Logit("warm up the pool")
	if n := testing.AllocsPerRun(100, func() { m.Logit("로그인이 자꾸 안 돼요 ㅠㅠ Galaxy S24 v10.2") }); n > 0 {
		t.Errorf("Logit allocates %.1f times per text, want 0", n)
	}
}

func BenchmarkLogit(b *testing.B) {
	c := toyConfig
	c.Features.Bits = 22
	m, err := Train(Hash(c.Features, toy()), c)
	if err != nil {
		b.Fatal(err)
	}
	text := "배우들 연기는 좋았는데 스토리가 너무 뻔하고 지루했다 ㅠㅠ 시간 아까움"
	b.ReportAllocs()
	for b.Loop() {
		m.Logit(text)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}
