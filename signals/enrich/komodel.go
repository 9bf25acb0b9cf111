package enrich

import (
	_ "embed"
	"fmt"
	"math"
	"sync"

	"github.com/aftershock/aftershock/signals/textmodel"
)

// koPolarityModel is a logistic regression over hashed character n-grams,
// syllable n-grams across spaces, and words of Korean text, trained on 150,000
// Naver movie reviews rated by their writers (../shared/data/ko-reviews) by
// `go run ./cmd/aftershock-train ko-polarity`. It holds int8 weights only.
//
//go:embed data/ko_polarity.astm
var koPolarityModel []byte

var loadKoModel = sync.OnceValues(func() (*textmodel.Model, error) {
	m, err := textmodel.Load(koPolarityModel)
	if err != nil {
		return nil, fmt.Errorf("load korean polarity model: %w", err)
	}
	return m, nil
})

// koModelComplaint is the model sentiment at or below which a Korean post
// is a complaint even when the lexicon rules find nothing: the model must be
// sure (p(negative) >= 0.95). Movie reviews rated 5–8 were left out of its
// training data, so it has never seen neutral text and scores neutral chatter
// ("새 버전 나왔어요", "쿠폰은 어디서 받나요?") anywhere from -0.8 to +0.4;
// counting every negative score as a complaint would count chatter about a
// release as complaints about it.
const koModelComplaint = -0.9

// koRulesLogit weighs the rules' valence sum (Korean lexicon stems with
// their negation, emoji, emoticons) into the model's logit. Movie reviews
// hold few emoji and no app complaints ("튕겨요", "로그인 안 돼요"), so the
// rules carry what the model never saw; chosen on the validation split so
// that it costs little there (see TestKoreanValidation).
var koRulesLogit = 0.5

const (
	// koComplaintLogit is what each complaint category found (at most two)
	// adds, as complaintValence does for English: "앱이 자꾸 튕겨요" is a
	// complaint that a movie-review model has never seen.
	koComplaintLogit = -1.0
)

// koSentiment turns the model's logit plus emoji and complaint evidence into
// a score in [-1, 1]: 2·sigmoid(z) − 1, rounded like VADER's compound.
func koSentiment(z float64) float64 {
	return math.Round(math.Tanh(z/2)*10000) / 10000
}
