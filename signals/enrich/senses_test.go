package enrich

import (
	"slices"
	"testing"
)

// recogCase is a post, whether it is a complaint, and a category it must
// carry ("" for none required; with complaint false, no category at all).
type recogCase struct {
	name, text string
	complaint  bool
	category   string
}

func checkRecog(t *testing.T, a *Analyzer, cases []recogCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := a.Enrich(c.text, "")
			if e.Negative() != c.complaint {
				t.Errorf("%q: complaint %v (sentiment %.2f, categories %q), want %v", c.text, e.Negative(), e.Sentiment, e.Categories, c.complaint)
			}
			if !c.complaint && len(e.Categories) > 0 {
				t.Errorf("%q: categories %q, want none", c.text, e.Categories)
			}
			if c.category != "" && !slices.Contains(e.Categories, c.category) {
				t.Errorf("%q: categories %q, want %s", c.text, e.Categories, c.category)
			}
		})
	}
}

// TestKoreanHappyPosts: a Korean post the model reads as happy gets no
// category from a generic problem word or a topic with nothing tying it to
// the service, and no complaint from the lexicon alone; a mixed post with
// a strong term, an error word or the problem after "근데" stays one.
func TestKoreanHappyPosts(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"rating talk is praise", "완전 재밌게 봤는데 평점은 왜이래", false, ""},
		{"strangely good", "이상하게 자꾸 생각나는 작품, 최고예요", false, ""},
		{"regret not seeing it sooner", "왜 이제야 봤는지 후회될 정도로 좋았어요", false, ""},
		{"sad ending is praise", "끝나서 너무 아쉬워요 ㅠㅠ 최고의 드라마", false, ""},
		{"mixed: strong term", "앱 너무 좋아요 근데 요즘 자꾸 튕겨요 ㅠㅠ", true, "crash"},
		{"mixed: error word", "너무 좋아요 최고 근데 오류 나요", true, "bug"},
		{"mixed: after contrast", "정말 좋아요 근데 가끔 안 돼요", true, "bug"},
		{"mixed: topic", "최고의 앱인데 업데이트 후 왜이래요", true, "update"},
		{"plain failure", "좋은데 가끔 안 돼요", true, "bug"},
		{"login failure", "디자인 예쁘고 좋은데 로그인이 안 돼요", true, "login"},
	})
}

// TestKoreanIdiomsNoFailure: 안 되- in "몇 안 되는" (few), "말도 안 돼"
// (absurd), "-면 안 돼" (must not) and 이해가 안 돼 is no failure.
func TestKoreanIdiomsNoFailure(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"few", "기억에 남는 몇 안 되는 작품이다", false, ""},
		{"few, one word", "몇안되는 명작", false, ""},
		{"absurd", "말도 안 돼 이렇게 재밌다니", false, ""},
		{"must not", "제목만 보고 판단하시면 안 돼요", false, ""},
		{"must not, question", "두 편씩 하면 안되나요?", false, ""},
		{"cannot relate", "공감이 안 되었다 그래도 배우는 좋았다", false, ""},
		{"cannot accept", "납득 안되는 결말이지만 명작", false, ""},
		{"cannot understand, then a failure", "이해가 안 돼요 왜 결제가 안 되는지", true, "payment"},
		{"screen is no conditional", "화면 안 돼요 계속 까매요", true, ""},
		{"failure", "결제가 안 돼요", true, "payment"},
		{"failure, one word", "앱 실행 안됨", true, ""},
	})
}

// TestKoreanWordSenses: category terms inside other words or negated by
// -지 않- are no failure.
func TestKoreanWordSenses(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"long negation", "눈물이 멈추지 않는 영화", false, ""},
		{"long negation, one word", "웃음이 멈추질않았다 최고", false, ""},
		{"long negation of crash", "업데이트 후 튕기지 않아요 좋아요", false, ""},
		{"failure that ends in -지", "앱이 켜지지 않아요", true, "crash"},
		{"crash", "앱이 자꾸 멈춰요", true, "crash"},
		{"lag inside a name", "슈렉 다시 봐도 재밌다", false, ""},
		{"lag inside a name 2", "알렉스 연기 최고", false, ""},
		{"lag", "렉 걸려서 못 쓰겠어요", true, "slow"},
		{"lag with particle", "렉이 너무 심해요", true, "slow"},
		{"disabled person", "장애인 가족 이야기가 감동적이에요", false, ""},
		{"outage", "서비스 장애 발생했나요? 접속이 안 돼요", true, "outage"},
		{"burst out laughing", "중간에 빵 터졌다 ㅋㅋ", false, ""},
		{"server blew up", "서버 터졌네 아무것도 안 돼", true, "outage"},
		{"download", "다운 받아서 봤는데 좋네요", false, ""},
		{"down", "앱 다운됨", true, "outage"},
		{"strangely, then a malfunction", "앱이 이상하게 작동해요", true, "bug"},
		{"strangely, then praise", "이상하게 끌리는 영화 최고", false, ""},
		{"a surname in -berg", "스필버그 감독의 명작", false, ""},
		{"news in -berg", "블룸버그 기사 재밌네", false, ""},
		{"bug", "업데이트 후 버그 생겼어요", true, "bug"},
		{"frustrating is no slowness", "주인공이 너무 답답하지만 명작", false, ""},
		{"slow loading", "로딩이 답답할 정도로 느려요", true, "slow"},
	})
}

// TestNegation: a negated failure is none.
func TestNegation(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"negated failure", "no crashes at all since the update", false, ""},
		{"negated failure, Korean", "요즘은 튕기지 않아요", false, ""},
		// the short negation 안 before a symptom, and 없 after it
		{"안 fused", "올해 블프때 샵 한번도 안튕김 처음이다", false, ""},
		{"안 apart", "요즘은 몇달째 한번도 안 튕김", false, ""},
		{"안, happy", "샵 안튕겨요 좋아요", false, ""},
		{"없 after a degree adverb", "라이드고 새 지도 렉 하나도 없음", false, ""},
		{"없 after not once", "샵 7.4 이후로 튕김 한번도 없네요", false, ""},
		{"the symptom itself", "앱이 자꾸 튕김", true, "crash"},
		{"안 돼 is the failure", "로그인 안됨", true, "login"},
		{"안 되 apart", "결제 안 됨", true, "payment"},
	})
}

// TestCauseElsewhere: a problem the author then finds elsewhere — their
// own device, network or mistake — or the service fine for them is no
// complaint (RULES.md: the author's phone, Wi-Fi or mistake; bystanders);
// a problem after such words still is.
func TestCauseElsewhere(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"turns out", "streamio buffering? turns out it was my ISP all along", false, ""},
		{"my bad", "payly declined my card... typed the expiry wrong, my bad", false, ""},
		{"nvm", "shop is down?? oh wait it was my vpn lol nvm", false, ""},
		{"fine for me", "everyone says toktok is down but it works fine for me", false, ""},
		{"release notes", "Shop 7.5 release notes: fixed a rare login loop and a crash on start", false, ""},
		{"Korean, my fault", "샵 앱이 자꾸 꺼지길래 봤더니 폰 저장공간이 없었음 내탓", false, ""},
		{"Korean, fine for me", "톡톡 서버 터졌다고 해서 봤는데 난 잘만 됨", false, ""},
		{"a problem after it", "turns out they charged me twice for one order", true, "payment"},
		{"Korean, fixed", "샵 결제오류 고쳐졌네 드디어 주문함", false, ""},
		{"Korean, a fix wished for", "업데이트 후 계속 튕김 빨리 고쳐졌으면", true, "crash"},
		{"a fear", "what if payly goes down on payday, my new nightmare", false, ""},
		{"a fear, RULES.md", "hope the update doesn't break payments", false, ""},
		{"a problem, then a fear", "it crashed twice today, what if it does that during checkout", true, "crash"},
		{"announced maintenance", "페이리 오늘 새벽 2~4시 정기점검이래요 참고하세요", false, ""},
		{"imagine if", "imagine if streamio went down on the night of the finale", false, ""},
		{"a journalist", "journalist here: looking to talk to anyone affected by yesterday's payly outage", false, ""},
		{"the author's own fault", "typed the wrong pickup spot and the driver waited at the other end. me problem", false, ""},
		{"Korean, not the app", "페이리 송금 안 돼서 봤더니 한도초과였음 앱 문제 아님", false, ""},
		{"still broken after", "my bad for doubting, but the app crashes again on launch", true, "crash"},
	})
}

// TestTypoInPhrase: a slip in a later word of a failure phrase, or a
// misplaced apostrophe, still reads as the failure; a real word does not.
func TestTypoInPhrase(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"swapped", "the app doesn't wrok since yesterday", true, ""},
		{"doubled", "it doesn't woork on my tablet", true, ""},
		{"dropped", "app doesn't wrk", true, ""},
		{"swapped, outage", "the app wont laod at all", true, "outage"},
		{"swapped, later word", "sync is not workign at all", true, ""},
		{"apostrophe", "app does'nt work after the update", true, ""},
		{"apostrophe, login", "ca'nt log in since this morning", true, "login"},
		{"real word, not a typo", "the new layout doesn't word things well", false, ""},
		{"he'll is not hell", "he'll love this app", false, ""},
	})
}

// TestUpdateNeedsAProblem: an update is a complaint when the author reports
// what it made worse, not for a dislike alone (RULES.md, "Bad update").
func TestUpdateNeedsAProblem(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"dislike", "Personally not a fan of the latest update.", false, ""},
		{"broke", "the latest update broke sync on my phone", true, "update"},
		{"slower", "hate the new update, everything is so slow now", true, "update"},
		{"removed", "the update removed offline playlists, terrible", true, "update"},
		{"ko broke", "업데이트 후 로그인이 안 돼요", true, "update"},
	})
}

// TestQuotedErrorMessages: a post that quotes the service's own failure
// message is a malfunction report, with the category the message names.
func TestQuotedErrorMessages(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"unreachable", `the app just says "we're having trouble" on every device`, true, "outage"},
		{"maintenance page", `friday night and it's "we'll be right back" again`, true, "outage"},
		{"error dialog", `tapping save gives "something went wrong"`, true, "bug"},
		{"android crash dialog", "Shop keeps stopping every time I open my orders", true, "crash"},
		{"checkout", `checkout threw "payment could not be processed" three times`, true, "payment"},
		{"Korean, unreachable", `스트리미오 기기마다 "문제가 발생했습니다"만 뜸`, true, "outage"},
		{"Korean, session", `뱅킷 30초마다 "세션이 만료되었습니다"`, true, "login"},
		{"Korean, error", "결제하려니까 알 수 없는 오류 뜸", true, "payment"},
	})
}

// TestStateThatLasts: how long a state has lasted ties a topic to a
// problem ("이틀째", "since yesterday"), and money gone out while what it
// paid for did not come is a payment failure.
func TestStateThatLasts(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"paid, still basic", "스트리미오 프리미엄 결제했는데 계정은 아직 베이직 이틀째", true, "payment"},
		{"refund for weeks", "페이리 환불 3주째 안들어옴", true, "payment"},
		{"login since yesterday", "the bankit login page has been spinning since yesterday", true, "login"},
		{"money out, not received", "동생한테 4만원 보냈는데 잔액에선 빠지고 동생은 못받음", true, "payment"},
		{"money out", "돈은 나갔는데 주문내역엔 없음", true, "payment"},
		{"happy for months", "몇달째 잘 쓰고 있어요 결제도 편하고 최고", false, ""},
	})
}

// TestSymptomsInOtherWords: symptoms people name without our usual words —
// an app that closes at once, messages minutes late, a memory leak, an
// update that took a feature away — are complaints.
func TestSymptomsInOtherWords(t *testing.T) {
	checkRecog(t, newTestAnalyzer(t, Config{}), []recogCase{
		{"closes at once", "payly 6.0 closes immediately on my pixel 7. 5.9 was fine", true, "crash"},
		{"late messages", "my toktok messages arrive like 20 minutes late", true, "slow"},
		{"memory leak", "the web player since last week's release leaks memory like crazy", true, "slow"},
		{"an update took it away", `streamio update removed the "skip intro" button on the web player`, true, "update"},
		{"a downgrade", "the new bankit update is a downgrade in every way", true, "update"},
		{"a turtle", "ridego map 🐢🐢🐢", true, "slow"},
		{"they removed the ads", "they removed the ads in this version, love it", false, ""},
		{"Korean, closes", "다운로드 누르면 앱이 꺼집니다", true, "crash"},
		{"Korean, black screen", "클라우드박스 12.0 이후로 미리보기 전부 검은 화면", true, "bug"},
		{"Korean, deleted", "동기화하다가 3년치 사진 다 삭제됨", true, "data_loss"},
		{"Korean, late", "톡톡 메시지가 10분씩 늦게 감", true, "slow"},
		{"Korean, timeout", "결제 누르고 한참 돌다가 타임아웃남", true, "payment"},
		{"Korean, broken", "샵 검색 고장남? 충전기 치니까 화분 나옴", true, "bug"},
		{"Korean, only X in sight", "제라드밖에 안보이던데요? 최고", false, ""},
		{"back to the home screen", "streamio goes back to the home screen the moment i hit play", true, "crash"},
		{"Korean, closed", "페일리 송금하기 누르면 앱이 그냥 닫혀버려요", true, "crash"},
		{"Korean, can't connect", `+1 뱅킷 여기도 "서버에 연결할 수 없습니다"`, true, "outage"},
		{"Korean, timed out", "기사님 찾는 중 15분째 돌다가 시간초과 떴어요", true, "slow"},
		{"battery", "toktok 8.2 eats my battery, 100 to 40 by lunch", true, "bug"},
		{"Korean, not arrived", "배송완료로 되어 있는데 물건은 안 왔어요", true, ""},
	})
}
