package enrich

// The tables in this file are the built-in word lists. VADER's word lexicon
// is embedded from data/vader_lexicon.txt; boosters, negations and the rule
// constants follow the published VADER rules (Hutto & Gilbert, 2014).

// VADER's empirically derived constants.
const (
	bIncr      = 0.293 // booster increment
	bDecr      = -0.293
	cIncr      = 0.733 // ALL CAPS emphasis
	nScalar    = -0.74 // negation
	alpha      = 15.0  // normalisation constant of the compound score
	elongIncr  = 0.293 // "sooooo good": repeated letters, like a booster (not in VADER)
	maxExcl    = 4
	exclIncr   = 0.292
	questIncr  = 0.18
	questLarge = 0.96
)

var boostersUp = []string{
	"absolutely", "amazingly", "awfully", "completely", "considerable", "considerably",
	"decidedly", "deeply", "effing", "enormous", "enormously", "entirely", "especially",
	"exceptional", "exceptionally", "extreme", "extremely", "fabulously", "flipping", "flippin",
	"frackin", "fracking", "fricking", "frickin", "frigging", "friggin", "fully", "fuckin",
	"fucking", "fuggin", "fugging", "greatly", "hella", "highly", "hugely", "incredible",
	"incredibly", "intensely", "major", "majorly", "more", "most", "particularly", "purely",
	"quite", "really", "remarkably", "so", "substantially", "thoroughly", "total", "totally",
	"tremendous", "tremendously", "uber", "unbelievably", "unusually", "utter", "utterly", "very",
	// social-text additions
	"soo", "sooo", "super", "insanely", "crazy", "literally", "seriously", "way",
}

var boostersDown = []string{
	"almost", "barely", "hardly", "kinda", "kindof", "less", "little", "marginal", "marginally",
	"occasional", "occasionally", "partly", "scarce", "scarcely", "slight", "slightly", "somewhat",
	"sorta", "sortof",
}

var negations = []string{
	"aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "ain't", "aren't",
	"can't", "couldn't", "daren't", "didn't", "doesn't", "dont", "hadnt", "hasnt", "havent", "isnt",
	"mightnt", "mustnt", "neither", "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't",
	"mustn't", "neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere",
	"oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent", "oughtn't", "shan't", "shouldn't",
	"wasn't", "weren't", "without", "wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom",
	"despite", "nobody",
	// social-text misspellings
	"doesnt", "didnt", "isnt", "wasnt", "wouldnt", "couldnt", "dosent", "dosnt", "doesn’t",
}

// appValence adds words that VADER's lexicon lacks but that carry clear
// sentiment in posts about apps. Values are on VADER's -4..4 scale.
var appValence = map[string]float32{
	"crashes": -1.7, "crashed": -1.7, "crashing": -1.7, "crashy": -1.7, "crashs": -1.7,
	"buggy": -1.8, "bug": -1.0, "bugs": -1.0, "glitch": -1.2, "glitches": -1.2, "glitched": -1.2, "glitchy": -1.5, "glitching": -1.2,
	"laggy": -1.5, "lagging": -1.5, "lags": -1.2, "slow": -1.0, "slower": -1.0, "slowest": -1.3,
	"sluggish": -1.5, "unusable": -2.5, "declined": -1.2, "frozen": -1.0, "freezing": -1.0,
	"froze": -1.0, "outage": -1.5, "downtime": -1.2, "unavailable": -1.0, "wiped": -1.2,
	"vanished": -1.0, "disappeared": -1.0, "deleted": -0.8, "locked": -0.6, "unresponsive": -1.5,
	"timing": 0, "smooth": 1.5, "smoother": 1.5, "snappy": 1.5, "fast": 1.0, "faster": 1.2,
	"fixed": 1.2, "stable": 1.2, "slick": 1.5, "intuitive": 1.5, "seamless": 1.8, "kudos": 2.0,
	"shoutout": 1.5, "yay": 2.0, "rocks": 1.5, "worked": 0.5, "scam": -2.5,
}

// appOverride replaces VADER valences that mislead on posts about apps:
// "support" is the help desk, "gift" the gift card, and "fire" is praise
// slang ("this update is fire 🔥") more often than a blaze.
var appOverride = map[string]float32{"support": 0.3, "gift": 0.5, "fire": 0}

// complaintValence is the valence a complaint category adds to the sum (at
// most twice): "can't log in" or "checkout keeps failing" carry no lexicon
// word in VADER, yet they are negative posts.
const complaintValence = -1.3

// complaintSentiment is the rule-based sentiment at or below which a post
// is a complaint without a recognised category ("worst app ever", "what a
// joke, nothing I tap does anything"). On the tune part of the app reviews,
// category or <= -0.5 gave complaint P 0.619 R 0.621 and Bug P 0.447 R 0.677,
// against P 0.617 R 0.591 and P 0.427 R 0.617 for sentiment <= -0.05 or a
// category with sentiment < 0.3.
const complaintSentiment = -0.5

// emojiValence gives common emoji a valence on VADER's scale. VADER itself
// replaces an emoji by its description and scores those words; a direct table
// is faster and closer to how emoji read in complaints (🙃, 💀 are not happy).
var emojiValence = map[rune]float32{
	'😀': 1.5, '😃': 2, '😄': 2, '😁': 2, '😆': 1.8, '😅': 0.5, '🤣': 1.8, '😂': 1.2,
	'🙂': 1, '😊': 2, '😇': 1.5, '🥰': 3, '😍': 3, '🤩': 3, '😘': 2, '😋': 1.5, '😎': 1.5,
	'🤗': 2, '👍': 2, '👏': 2, '🙌': 2.2, '🎉': 2.5, '🥳': 2.5, '❤': 2.5, '💕': 2.5, '💖': 2.5,
	'💗': 2.5, '💙': 2.2, '💚': 2.2, '💜': 2.2, '🧡': 2.2, '💛': 2.2, '😻': 2.5, '💯': 2, '🔥': 1.5,
	'✨': 1.5, '⭐': 1.5, '🌟': 1.5, '🙏': 1.2, '👌': 1.8, '💪': 1.5, '😌': 1, '✅': 1, '🚀': 1.5,
	'🤝': 1.2, '🆗': 0.8,
	'😡': -2.5, '🤬': -3, '😠': -2.2, '😤': -1.8, '😭': -2, '😢': -1.8, '😞': -1.8, '😔': -1.5,
	'😟': -1.5, '😩': -2, '😫': -2, '😖': -1.8, '😣': -1.5, '🙁': -1.5, '☹': -1.5, '😒': -1.5,
	'🙄': -1.5, '😑': -0.8, '😐': -0.3, '😕': -1, '🫠': -0.8, '🤦': -1.5, '👎': -2, '💔': -2.2,
	'😱': -1.5, '😨': -1.5, '😰': -1.5, '🤢': -2, '🤮': -2.5, '💀': -0.8, '❌': -1, '⚠': -0.8,
	'🐌': -1, '🙃': -0.8, '😬': -0.8, '😪': -1, '😓': -1.2, '😥': -1.2, '😿': -1.5, '🥲': -0.5,
	'🥺': -0.8, '🖕': -3, '💩': -2,
}

// extraEmoticons are emoticons VADER's lexicon spells differently or lacks.
var extraEmoticons = map[string]float32{
	":D": 2.2, ":-D": 2.2, "xD": 1.8, "XD": 1.8, "xDD": 1.8, ":P": 1.0, ":p": 1.0, "<3": 1.9,
	":'(": -2.2, ":((": -2.2, ":(((": -2.2, ":)))": 2.0, ":))": 2.0, ":/": -1.0, ":-/": -1.0,
	"-_-": -1.0, "-__-": -1.0, "T_T": -1.8, "ㅠㅠ": -1.5, "¯\\_(ツ)_/¯": -0.3,
}

// koValence is a small Korean lexicon of complaint and praise stems, matched
// as the longest prefix of a Hangul token ("좋" matches 좋아요, 좋네요, 좋다).
var koValence = map[string]float32{
	// praise
	"좋": 2.0, "좋아하": 2.0, "최고": 3.0, "감사": 2.0, "고마": 2.0, "고맙": 2.0, "만족": 2.0, "대만족": 3.0,
	"편하": 1.5, "편해": 1.5, "편리": 1.8, "편했": 1.5, "빠르": 1.2, "빨라": 1.2, "빠른": 1.2, "빨랐": 1.2,
	"예뻐": 2.0, "예쁘": 2.0, "이쁘": 2.0, "이뻐": 2.0, "깔끔": 1.8, "친절": 2.0, "감동": 2.5, "대박": 2.5,
	"짱": 2.5, "훌륭": 2.8, "멋지": 2.2, "멋져": 2.2, "멋있": 2.2, "완벽": 2.8, "사랑": 3.0, "추천": 1.5,
	"괜찮": 1.2, "안정적": 1.5, "잘했": 2.0, "잘 ": 0, "굿": 2.0, "최고다": 3.0, "행복": 2.5, "기쁘": 2.2,
	"편안": 1.5, "유용": 1.8, "신기": 1.0, "든든": 1.5, "해결됐": 1.5, "해결되었": 1.5, "고쳐졌": 1.2,
	"ㅎㅎ": 0.8, "ㅋㅋ": 0.5, "ㅎ": 0.4,
	// complaints
	"최악": -3.1, "별로": -1.5, "불편": -1.5, "짜증": -2.2, "화나": -2.0, "화가": -2.0, "실망": -2.2,
	"답답": -1.8, "느려": -1.2, "느리": -1.2, "느림": -1.2, "버벅": -1.5, "렉": -1.2, "오류": -1.5,
	"에러": -1.5, "버그": -1.2, "먹통": -2.0, "장애": -1.5, "튕": -1.8, "꺼져": -1.2, "꺼짐": -1.2,
	"꺼지": -1.2, "멈춰": -1.2, "멈춤": -1.2, "멈추": -1.2, "실패": -1.8, "안돼": -1.8, "안되": -1.8,
	"안됨": -1.8, "안됩": -1.8, "불가": -1.5, "망했": -2.5, "망함": -2.5, "망한": -2.5, "쓰레기": -3.0,
	"문제": -1.0, "사라졌": -1.5, "사라짐": -1.5, "없어졌": -1.5, "날아갔": -1.8, "날아감": -1.8,
	"삭제됐": -1.2, "지워졌": -1.2, "거절": -1.2, "잠겼": -1.2, "이상해": -1.0, "이상하": -1.0,
	"이상함": -1.0, "귀찮": -1.5, "고쳐": -0.8, "나빠": -2.0, "나쁘": -2.0, "싫": -2.0, "후회": -1.8,
	"터졌": -1.5, "풀려": -0.8, "풀림": -0.8, "거지같": -2.5, "어이없": -2.0, "황당": -1.8, "아쉽": -1.2,
	"아쉬": -1.2, "엉망": -2.2, "심각": -1.5, "못하": -1.0, "못 ": 0, "힘들": -1.5, "느려터": -2.0,
	"강제": -0.8, "미치": -1.5, "열받": -2.2, "빡치": -2.5, "환불해": -0.5, "ㅠㅠ": -1.5, "ㅜㅜ": -1.5,
	"ㅠ": -1.0, "ㅜ": -1.0, "ㅡㅡ": -1.2, "헐": -0.5, "실화": -0.8, "불만": -1.8, "엉터리": -2.0,
}

// koBoosters intensify the next Hangul word.
var koBoosters = []string{"너무", "진짜", "정말", "완전", "엄청", "아주", "매우", "넘", "겁나", "개", "훨씬", "제일", "가장", "참"}

// koNegators negate the next Hangul word ("안 좋아요", "못 해요").
var koNegators = []string{"안", "못"}

// categoryNames are the complaint categories, in output order.
var categoryNames = []string{"outage", "login", "payment", "crash", "slow", "bug", "data_loss", "update"}

// categoryTerms holds, per category, strong terms (a complaint on their own
// unless negated: "no crashes") and topic terms (a complaint only when the
// post also carries a problem cue or negative sentiment: "can't log in").
// A Hangul term matches inside a word ("로그인이" holds 로그인); the words
// of a Latin phrase must follow each other.
var categoryTerms = map[string]struct{ strong, topic []string }{
	"outage": {
		strong: []string{"outage", "outages", "is down", "are down", "was down", "went down", "goes down",
			"down again", "down for", "still down", "be down", "being down", "completely down", "totally down",
			"servers down", "server down", "site down", "app down", "website down", "service down", "guys down",
			"everything is down", "is offline", "are offline", "went offline", "gone offline", "offline again",
			"offline for", "still offline", "503", "502", "504", "bad gateway", "service unavailable",
			"not loading", "won't load", "wont load", "doesn't load", "nothing loads", "nothing is loading",
			"can't load", "cant load", "can't connect", "cannot connect", "connection error", "connection errors",
			"can't reach", "cannot reach", "downtime", "not responding", "nothing works", "completely dead",
			"is dead", "down right now", "isdown", "downdetector",
			"won't open", "wont open", "won't even open", "doesn't open", "not opening", "unreachable", "not reachable", "not working at all", "doesn't work at all",
			"isn't working at all", "won't work at all", "not loading at all", "nothing is working",
			"can't get into", "cant get into", "cannot get into", "can't get on", "cant get on",
			"먹통", "장애", "서버 다운", "다운됐", "=다운", "=다운됨", "접속 안", "접속이 안", "접속 불가", "접속불가", "서버 터",
			"터졌", "서비스 중단", "안 열려", "점검",
			"서버터", "서버가 터", "안열려", "안들어가져", "안 들어가져", "들어가지지", "접속이 안", "접속안", "접속 오류", "접속오류",
			// the service's own messages, quoted: "we'll be right back", "문제가 발생했습니다"
			"we'll be right back", "we will be right back", "we're having trouble", "we are having trouble",
			"temporarily unavailable", "문제가 발생했습니다", "잠시 후 다시 시도", "일시적인 오류", "안열림", "안 열림",
			"서버에 연결할 수 없", "서비스를 사용할 수 없"},
		topic: []string{"server", "servers", "site", "website", "service", "서버", "접속", "사이트"},
	},
	"login": {
		strong: []string{"locked out", "logged out", "logs me out", "logging me out", "log me out", "logged me out",
			"kicked out", "login loop", "invalid credentials", "wrong password", "password is wrong",
			"account locked", "account is locked", "account got locked", "can't log in", "cant log in",
			"can't login", "cant login", "can't sign in", "unable to log in", "unable to login",
			"로그인 안", "로그인이 안", "로그인 실패", "로그인 오류", "로그인 못", "로그인이 풀", "로그인 풀", "계정이 잠",
			"로그인 계속 풀", "로그아웃 돼", "로그아웃돼", "로그인안", "로긴 안", "로긴안",
			"비번 틀", "비번이 틀", "틀리다고 나", "틀렸다고 나", "비밀번호 틀", "비밀번호가 틀", "인증번호 안", "인증번호가 안",
			"로그아웃됨", "로그아웃 됨", "로그아웃 당", "로그아웃당", "인증 안", "인증이 안", "인증 실패", "인증실패",
			"signed out", "signs me out", "signing me out", "session expired", "code never", "code doesn't arrive", "code isn't arriving",
			"otp never", "reset link", "password reset",
			"session has expired", "세션이 만료"},
		topic: []string{"login", "log in", "log into", "verification", "security code", "login code", "sms code",
			"two factor", "2-step", "two-step", "logging in", "logged in", "sign in", "signin", "signing in",
			"sign into", "password", "passcode", "2fa", "otp", "verification code", "account", "face id",
			"touch id", "credentials", "loggin", "loging", "logon", "log on", "singin", "sing in", "relogin",
			"로그인", "로긴", "비밀번호", "비번", "인증번호", "인증 번호", "계정", "로그아웃", "회원가입"},
	},
	"payment": {
		strong: []string{"charged twice", "double charged", "payment failed", "payment declined", "card declined",
			"card got declined", "declined", "transaction failed", "payment error", "payment failing",
			"결제 안", "결제가 안", "결제 오류", "결제 실패", "결제가 계속 실패", "결제 취소 안", "거절", "결제가 두 번",
			"이중 결제", "돈은 빠져", "went through twice", "charged me twice", "paid twice",
			"돈만 빠져", "돈만빠져", "결제 두번", "결제가 두번", "두번 결제", "이중결제", "중복 결제", "중복결제", "결제안",
			"charged but", "paid but", "charges me twice", "charging me twice", "charged me double", "billed twice",
			"double billed", "double charge", "charged 2x", "charged me 2x", "환불 안", "환불이 안", "송금 안", "송금이 안", "이체 안", "이체가 안",
			"could not be processed", "couldn't be processed", "결제를 처리할 수 없", "결제에 실패",
			// the money went out, and what was paid for did not come
			"돈은 나갔", "돈은 빠졌", "잔액에선 빠지", "잔액은 빠지"},
		topic: []string{"payment", "payments", "pay", "paying", "paid", "checkout", "check out", "checking out",
			"card", "cards", "paypal", "apple pay", "google pay", "purchase", "transaction", "gift card",
			"promo code", "coupon", "refund", "charged", "charge", "billing", "checkout's", "chekout", "paymnet", "payout", "payouts", "subscription", "subscribed", "transfer", "transfers", "withdrawal", "deposit",
			"결제", "결재", "카드", "간편결제", "카카오페이", "네이버페이", "삼성페이", "애플페이", "토스페이", "페이코", "페이팔", "=페이", "환불", "결제창", "송금", "이체", "출금", "입금", "구독"},
	},
	"crash": {
		strong: []string{"crash", "crashes", "crashed", "crashing", "crashy", "crashs", "chrashing", "crushes",
			"force close", "force closes", "force closed", "closes itself", "keeps closing", "just closes",
			"freezes", "froze", "frozen", "freezing", "kicked me out", "kicks me out", "kicking me out",
			"튕", "꺼져", "꺼짐", "꺼지", "강제 종료", "강제종료", "종료돼", "종료 돼", "종료됨", "종료되",
			"멈춰", "멈춤", "멈추", "크래시", "실행이 안", "실행 안", "켜지지",
			"팅김", "팅겨", "팅기", "실행안", "안 켜", "안켜", "꺼저", "튕겨나", "force quit", "force quits", "app closes", "it closes", "closes as soon", "closes whenever",
			"closes every time", "app quits", "keeps quitting", "quits on me", "shuts down", "closes on me", "closes by itself",
			// Android's crash dialogs, quoted
			"has stopped", "keeps stopping", "isn't responding", "앱이 중지", "중지되었", "계속 중지",
			"closes immediately", "closes right away", "꺼집", "꺼졌", "closes the moment", "closes when",
			"back to the home screen", "홈화면으로 나가", "닫혀버려", "닫혀 버려"},
	},
	"slow": {
		strong: []string{"slow", "slower", "slowest", "slowly", "laggy", "lag", "lags", "lagging", "sluggish",
			"slowed down", "takes forever", "take forever", "taking forever", "forever to load", "takes ages", "take ages",
			"takes so long", "take so long", "long to load", "loading forever", "still loading",
			"loading loading", "snail", "🐌", "seconds to open", "minute to load", "minutes to load", "seconds to load", "slowed", "minutes to open", "waiting forever", "slooow",
			"느려", "느림", "느리", "버벅", "=렉", "렉걸", "렉 걸", "렉이 심", "렉 심", "렉심", "렉때문", "렉 때문", "렉쩔", "렉 쩔", "개렉", "핵렉", "오래 걸", "로딩이 너무", "답답할 정도로 느", "로딩이 답답", "로딩 답답",
			"오래걸", "무한로딩", "무한 로딩", "로딩만", "로딩 길", "로딩이 길", "로딩중만",
			"🐢", "minutes late", "hours late", "memory leak", "leaks memory",
			"타임아웃", "늦게 감", "늦게 와", "늦게 옴", "늦게 도착", "돌기만", "시간초과", "시간 초과",
			"buffering", "buffers", "rebuffering", "spinning wheel", "spinner", "keeps spinning", "timeout", "timeouts", "timed out",
			"times out", "timing out", "🔄", "⏳", "⌛", "버퍼링", "끊김", "끊겨", "끊기"},
	},
	"bug": {
		strong: []string{"bug", "bugs", "buggy", "glitch", "glitches", "glitchy", "glitching", "glitched", "does nothing",
			"do nothing", "blank screen", "white screen", "black screen", "wrong", "unusable", "messed up",
			"error message", "error 500", "500 error", "error 404", "not showing", "doesn't show", "won't let me", "doesn't let me", "not letting me", "wont let me",
			"duplicated", "not applied", "isn't applied",
			"버그", "이상해", "이상하", "이상함", "안 떠", "안 보여", "반응이 없", "반응 없", "하얗게", "안 담겨",
			"안 눌러", "적용이 안", "두 번씩", "안눌러", "안 눌려", "안눌려", "안떠", "안보여", "배터리 광탈", "배터리가 광탈",
			"not arriving", "never arrive", "never arrived", "stopped arriving", "returns nothing", "shows nothing", "no sound",
			"wrong total", "wrong amount", "battery drain", "drains my battery", "drains the battery", "battery drains", "eats my battery", "배터리 순삭", "빨리 닳",
			"nothing happens", "doesn't do anything", "does not do anything", "won't do anything", "not doing anything",
			"no audio", "no notifications", "not getting notifications", "stopped getting", "stopped showing",
			"stopped syncing", "not syncing", "won't sync", "doesn't sync", "out of sync", "incorrect",
			"no results", "keeps resetting", "resets itself", "resets every", "doesnt do anything", "don't do anything",
			"dont do anything", "gives me nothing", "finds nothing", "nothing shows up", "nothing comes up",
			"never updates", "not updating", "someone else's", "is blank", "blank page", "goes blank", "went blank", "keeps skipping",
			"cuts out", "keeps cutting out", "doesn't update", "stopped updating",
			"아무것도 안 나", "아무것도 안나", "안 나와", "안나와", "안 나옴", "안나옴", "하얀 화면", "흰 화면", "빈 화면", "broken layout", "layout is broken", "glitchy",
			"화면 깨", "깨짐", "깨져", "소리 안", "소리가 안", "알림 안", "알림이 안",
			// error dialogs, quoted
			"something went wrong", "an error occurred", "an error has occurred", "unexpected error",
			"오류가 발생", "알 수 없는 오류", "알수없는 오류",
			"검은 화면", "검은화면", "흰화면", "하얀화면", "빈화면", "안뜸", "안 뜸",
			"안넘어가", "안 넘어가"},
	},
	"data_loss": {
		strong: []string{"lost my", "lost all", "lost everything", "disappeared", "vanished", "deleted my",
			"got deleted", "were deleted", "was deleted", "deleted all", "deleted everything", "wiped",
			"erased", "reset to zero", "all gone", "are gone", "is gone", "are all gone", "is empty",
			"lost the", "where did my", "where did all my", "where are my", "where'd my",
			"사라졌", "사라짐", "없어졌", "날아갔", "날아감", "삭제됐", "삭제 됐", "삭제되", "지워졌", "지워짐", "초기화", "날라갔", "날라감", "날아가", "날라가", "다 지워", "got wiped", "emptied", "장바구니 비", "장바구니가 비", "기록 없어",
			"=다 없어짐", "=싹 다 없어", "전부 없어", "삭제됨"},
	},
	"update": {
		// A bare "version" / "버전" only labels a release ("v2.15", "2.15
		// 버전": Versions and MentionsUpdate say so); it is the words of
		// updating that make the topic, so release talk with some unhappy
		// word elsewhere is not a complaint about the update.
		topic: []string{"update", "updated", "updating", "updates", "upgrade", "upgraded", "new version",
			"latest version", "this version", "new release", "release", "releases", "patch", "roll back", "rollback", "downgrade",
			"updat", "udpate", "upate",
			"업데이트", "업뎃", "업그레이드", "새 버전", "최신 버전", "새버전", "최신버전", "이번 버전", "패치"},
	},
}

// koSenseExcept lists, for Hangul category terms that match inside words,
// what makes them another word: after the term in the same word ("장애인"
// is a disabled person, not an outage) or before it, in the same word or
// as the word before ("빵 터졌다" is bursting out laughing, "매력 터졌음"
// bursting with charm, not a server blowing up). "다운 받" is a download.
var koSenseExcept = map[string]struct{ after, before []string }{
	"장애": {after: []string{"인", "물", "우", "아", "자"}},
	"터졌": {before: []string{"빵", "웃음", "눈물", "매력", "포텐", "울음", "감동", "대박", "빵빵"}},
	"다운": {after: []string{"받", "로드"}},
	// the adverb "이상하게" (strangely) qualifies another word: a generic
	// problem word ("이상하게 작동해요"), not the bug category itself
	// ("이상하게 끌린다" is praise); "이상해요", "이상함" stay
	"이상하": {after: []string{"게"}},
	// surnames and places in -berg: "스필버그", "저커버그", "블룸버그"
	"버그": {before: []string{"스필", "월", "골드", "저커", "블룸", "게티즈", "하이젠", "아이젠", "와인", "그린",
		"린드", "로젠", "잘츠", "함부르", "뉘른", "하이델", "요한네스", "스트라스"}},
}

// problemCues mark a post as reporting a problem, so that topic terms
// ("login", "checkout") count as complaints. Generic ones also make the post
// a "bug" when no more specific category matched.
var problemCues = struct{ generic, weak []string }{
	generic: []string{"fail", "fails", "failed", "failing", "failure", "broken", "broke", "breaks", "not working",
		"doesn't work", "does not work", "don't work", "isn't working", "stopped working", "won't work",
		"not work", "error", "errors", "doesnt work", "dosent work", "not workin",
		"hasn't worked", "hasnt worked", "haven't worked", "havent worked", "no longer works", "corrupts", "corrupted",
		"오류", "에러", "안돼", "안 돼", "안되", "안 되", "안됨", "실패",
		"이상하게", "왜이래", "왜 이래", "왜이럼", "왜 이럼", "왜이러", "왜 이러", "안옴", "안 옴", "안와", "안 와",
		"고장", "없어짐", "안 왔", "안왔", "안먹", "안 먹혀"},
	weak: []string{"issue", "issues", "problem", "problems", "can't", "cant", "cannot", "unable", "won't",
		"wont", "couldn't", "not able", "stuck", "invalid", "never arrives", "never comes", "not received",
		"never came", "never showed", "never shows", "hasn't shown", "hasn't arrived", "haven't received",
		"still hasn't", "still haven't", "isn't coming", "isnt coming", "not coming", "aren't coming",
		"doesn't arrive", "didn't arrive", "still says", "still shows",
		"didn't get", "keeps", "why", "fix", "hangs", "spins", "ruined", "terrible", "awful", "worst",
		"disaster", "step backwards", "step back", "drains", "worse", "timing out", "times out", "greyed out", "anymore",
		"못", "문제", "불가", "답답", "풀려", "풀림", "잠겼", "이상", "안 눌", "안 떠", "고쳐", "광탈",
		// how long a state has lasted: "processing for 3 days", "2시간째"
		"since yesterday", "since this morning", "for hours", "for days", "all day", "for an hour",
		// what an update took: "the update removed the skip intro button"
		"removed the", "took away", "a downgrade", "never got",
		"시간째", "분째", "이틀째", "사흘째", "일째", "주째", "달째", "유효하지 않"},
}

// blockPhrases hold a keyword that means something else in them: the
// customer service's tone is no outage, "offline mode" is a feature.
var blockPhrases = []string{"customer service", "customer support", "offline mode", "service fee",
	"service charge", "terms of service", "hands down", "can't get enough", "cant get enough",
	"can't recommend", "cant recommend", "cannot recommend", "can't wait", "cant wait", "can't put it down",
	"cannot put down", "can't put down", "all else fails", "good money",
	// "it bugs me how short the game is": annoys, no software bug
	"bugs me", "bug me",
	// an absence that is praise: "no in app purchases!", "no ads"
	"no in app purchases", "no in-app purchases", "no in app purchase", "no in-app purchase",
	"no ads", "no hidden fees", "no hidden charges"}

// reportCues mark the voice of news, bystanders and status pages. Without a
// first-person word (firstPersonWords) such a post is no complaint: the blind
// set's RULES.md counts affected users, not headlines.
var reportCues = []string{"downdetector", "according to", "reports say", "report says", "users report",
	"users are reporting", "people are reporting", "breaking", "reuters", "bloomberg", "techcrunch",
	"we are investigating", "we're investigating", "we are aware", "we're aware", "we are looking into",
	"we're looking into", "looking into the", "working on a fix", "status update", "status page",
	"scheduled maintenance", "thousands of", "outage hits", "shares fall", "shares drop", "stock falls",
	"stock drops", "apologize for the inconvenience", "sorry for the inconvenience",
	"기사 떴", "기사 났", "기사 보니", "뉴스 봤", "뉴스 떴", "뉴스 나", "뉴스에 나", "확인하고 있습니다",
	"확인 중입니다", "불편을 드려", "점검 안내",
	// release notes, post-mortems and notices quote problems, fixed or
	// planned: "release notes mention 'fixed a rare login loop'"
	"release notes", "changelog", "patch notes", "postmortem", "post-mortem", "incident report",
	"per local news", "engineering blog", "패치노트", "패치 노트", "장애 보고서", "서비스 안내", "정기점검 안내",
	// a maintenance announced ahead is no outage (RULES.md: announced → 0)
	"정기점검", "정기 점검", "점검 예정", "예정된 점검", "점검은 예정",
	"earnings call", "reading about"}

// fearCues before a post's first problem word make the problem a fear or a
// hypothetical, or someone else's the author asks about, not one the author
// has (RULES.md: "hope the update doesn't break payments" → 0; a reporter
// looking for affected users is not one).
var fearCues = []string{"journalist here", "reporter here", "i'm a journalist", "기자입니다",
	"what if", "imagine if", "what would we", "what would i", "what happens if", "god forbid", "nightmare", "hope it doesn't", "hope it does not", "hope the update doesn't",
	"hope they don't", "hope this doesn't", "hopefully it doesn't", "hopefully the update doesn't",
	"knock on wood", "preemptively", "afraid it will"}

// firstPersonWords say the author is affected: "downdetector says it's
// down and it won't load for me either".
var firstPersonWords = map[string]bool{"i": true, "i'm": true, "im": true, "i've": true, "ive": true,
	"me": true, "my": true, "mine": true, "myself": true, "here": true, "i'd": true, "i'll": true}

// resolvedCues say a problem is over. A post whose last such cue comes
// after its last problem word is no complaint ("login works again",
// "it was down but it's back up now"); one whose problem comes after it is
// ("it's back up but down again").
var resolvedCues = []string{"works again", "working again", "work again", "fixed now", "now fixed",
	"is fixed", "was fixed", "got fixed", "been fixed", "are fixed", "were fixed", "finally fixed",
	"fixed it", "fixed the", "fixed in", "thanks for fixing", "thanks for the fix", "is back up",
	"it's back up", "its back up", "back up now", "back up and", "back online", "all good now",
	"resolved", "is resolved", "has been resolved", "fixes the", "fixes all", "completely fixes",
	"해결됐", "해결 됐", "해결되었", "해결 되었", "복구됐", "복구 됐", "복구되었", "복구 되었", "다시 잘 되",
	"다시 잘되", "이제 잘 되", "이제 잘되", "정상화",
	// the author finds the cause elsewhere, or the service fine for them
	// (RULES.md: the author's own phone, Wi-Fi or mistake; bystanders):
	// "turns out it was my ISP", "my bad", "mine worked fine"
	"turns out", "turned out", "my bad", "my fault", "my mistake", "user error", "that's on me",
	"thats on me", "nvm", "never mind", "nevermind", "false alarm", "not the app's fault",
	"not the apps fault", "nobody's fault", "works fine for me", "working fine for me",
	"worked fine for me", "works for me", "fine for me", "mine worked fine", "mine works fine",
	"mine is fine", "works fine now", "worked fine after",
	"알고보니", "알고 보니", "내탓", "내 탓", "제 탓", "내잘못", "내 잘못", "제 잘못", "내 실수", "제 실수",
	"난 잘", "나는 잘", "전 잘", "저는 잘", "잘만 됨", "잘만 되", "난 아무 문제", "아무 문제 없",
	"me problem", "i'm the problem", "im the problem", "not the app", "didn't even notice", "didnt even notice",
	"내문제", "내 문제", "제 문제", "앱 문제 아니", "앱 문제 아님", "앱 문제는 아니", "앱 문제는 아님",
	// fixed: "결제오류 고쳐졌네"
	"고쳐졌", "고쳐짐", "고쳐줬", "고쳐주셔서", "수정됐", "수정됨"}

// turnWords end the object of a fix: "fixed the bug but it crashes".
var turnWords = map[string]bool{"but": true, "and": true, "now": true, "still": true, "yet": true,
	"though": true, "however": true, "except": true}

// wishWords before a fix make it a wish, not a fix: "hope it gets fixed",
// "please update so it works again".
var wishWords = map[string]bool{"hope": true, "hopefully": true, "please": true, "pls": true, "plz": true,
	"should": true, "will": true, "when": true, "need": true, "needs": true, "until": true, "if": true,
	"wish": true, "must": true, "gonna": true, "get": true, "whenever": true, "so": true, "to": true,
	"make": true, "want": true, "can": true, "could": true, "would": true, "might": true, "once": true,
	"till": true, "til": true, "unless": true}

// elseSubjects are the author's own things and other services. A problem
// word within five words after one, in a post that names no app or site, is
// trouble with that thing: "my wifi keeps dropping", "the courier lost my
// package"; "streamio is so slow on my wifi" is still a complaint. An
// English one also takes a post with no problem word ("my bank blocked my
// card"); a Korean one needs a problem word after it.
var elseSubjects = []string{"my wifi", "my wi-fi", "my internet", "my phone", "my laptop", "my computer",
	"my pc", "my router", "my isp", "my bank", "my modem", "the courier", "my courier", "the mailman",
	"집 와이파이", "집 인터넷", "택배"}

// questionWords open a question: with a "?" and no problem word, a post is
// a how-to ("how do I cancel my subscription?"). "what" is left out: "what
// the hell?" is anger.
var questionWords = map[string]bool{"how": true, "where": true, "can": true, "could": true, "does": true,
	"do": true, "which": true, "who": true, "is": true, "are": true, "any": true, "anyone": true}

// notMineRules switches the rules above on (tests compare without them).
var notMineRules = true

// updateTerms make MentionsUpdate true on their own.
var updateTerms = []string{"update", "updated", "updating", "updates", "upgrade", "upgraded", "upgrading",
	"new version", "latest version", "new release", "latest release", "new build", "patch", "patched",
	"hotfix", "release notes", "since the update", "after the update", "new ui", "new layout", "new design",
	"redesign",
	"업데이트", "업뎃", "업그레이드", "패치", "새 버전", "최신 버전", "새버전", "최신버전", "신버전"}

// versionCues before or after a bare "4.2" make it a version.
var versionCues = []string{"version", "ver", "v", "update", "updated", "updating", "release", "build", "app",
	"to", "since", "버전", "업데이트", "업뎃"}

// notVersionCues before a dotted number make it not our app's version.
var notVersionCues = []string{"ios", "android", "ipados", "macos", "windows", "chrome", "firefox", "safari", "$"}

// enFunctionWords are frequent English words, for language detection.
var enFunctionWords = []string{"the", "to", "and", "is", "it", "i", "my", "a", "of", "in", "not", "this", "on",
	"for", "with", "you", "me", "so", "but", "are", "was", "can't", "just", "app", "after", "since",
	"keeps", "anyone", "why", "what", "when", "again", "it's", "don't", "i'm", "have", "at", "be", "now",
	"no", "all", "up", "get", "can", "new", "love", "still", "that", "your", "every", "time", "from",
	"when", "does", "doesn't", "won't", "really", "thanks", "working", "great", "today", "is", "any"}

// otherFunctionWords are frequent words of other Latin-script languages.
var otherFunctionWords = []string{
	"der", "die", "das", "und", "ist", "nicht", "ich", "ein", "eine", "mit", "auf", "es", "geht", // de
	"el", "la", "los", "las", "que", "de", "y", "en", "funciona", "por", "para", "una", "muy", // es
	"le", "les", "je", "pas", "est", "et", "une", "des", "du", "ne", "marche", "plus", // fr
	"não", "nao", "é", "um", "uma", "com", "está", "funciona", "o", // pt
	"il", "che", "di", "non", "è", "per", "sono", // it
	"het", "een", "niet", "ik", "werkt", "dat", // nl
}
