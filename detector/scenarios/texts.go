package scenarios

// Post text pools. "{v}" is replaced by the new version's major.minor
// ("4.2"), "{V}" by the full version ("4.2.0"), "{p}" by the previous
// version ("4.1"), "{s}" by the service's display name and "{o}" by the
// other service's display name. Pools are by kind and language; complaint
// pools also by category.

var neutralEN = []string{
	"anyone else using {s} for their weekly groceries?",
	"just ordered a new lamp on {s}, delivery says thursday",
	"{s} has a sale on running shoes today",
	"browsing {s} for birthday gifts, any tips?",
	"does {s} ship to canada or only the US?",
	"my {s} order arrived early, nice",
	"comparing prices between {s} and the mall",
	"is the {s} gift card worth it for a secret santa",
	"lol my cat sat on my phone and added 12 socks to my {s} cart",
	"{s} customer service answered in 5 minutes, fair enough",
	"new week, new {s} wishlist",
	"what's the best thing you bought on {s} this year",
	"{s} returns are pretty straightforward tbh",
	"reading {s} reviews before buying a kettle",
	"the {s} app has a dark mode now? since when",
	"okay {s}, show me the coffee beans",
	"saving up for the headphones on {s}",
	"{s} package delivered to the wrong door again, neighbour brought it over",
	"anyone know if {s} does price matching",
	"ordered from {s} at midnight, classic",
}

var neutralKO = []string{
	"{s}에서 장보기 하는 사람 있나요?",
	"{s} 오늘 운동화 세일하네",
	"{s} 배송 생각보다 빨리 왔어요",
	"{s} 기프트카드 선물용으로 괜찮나요",
	"{s} 앱으로 주문 완료",
	"{s} 리뷰 보고 고르는 중",
	"{s} 장바구니에 담아만 두고 고민중",
	"주말에 {s}에서 뭐 살까",
	"{s} 반품 절차 간단하네요",
	"{s} 포인트 언제 들어오나요?",
}

var praiseEN = []string{
	"{s} is honestly the smoothest shopping app I use",
	"love how fast {s} checkout is",
	"shoutout to {s} support, sorted my refund in a day",
	"{s} delivery was super quick, great job",
	"the {s} app just works, no complaints",
	"really enjoying the {s} deals this week",
	"{s} has the best prices on coffee, thanks",
	"great experience with {s} today 👍",
}

var praiseKO = []string{
	"{s} 앱 진짜 편해요",
	"{s} 배송 너무 빨라서 좋아요",
	"{s} 고객센터 친절하네요 감사합니다",
	"{s} 할인 좋아요 👍",
	"{s} 결제 간편해서 최고",
}

// launchEN and launchKO are happy posts about the new version.
var launchEN = []string{
	"loving {s} {v}, the new home screen is gorgeous",
	"{s} {v} is so fast now, great update",
	"the new {s} update is amazing, wishlist sharing finally!",
	"{s} {V} just dropped and it's great 🎉",
	"wow the {s} redesign in {v} looks really good",
	"updated {s} to {v}, checkout is faster, love it",
	"{s} update is fire, the dark mode is beautiful",
	"finally {s} {v} has order tracking on the map, awesome",
	"the latest {s} version is excellent, well done team",
	"best {s} update in years honestly",
}

var launchKO = []string{
	"{s} {v} 업데이트 너무 좋아요",
	"{s} 새 버전 디자인 예뻐요 👍",
	"{s} 업데이트 후 엄청 빨라졌네요 최고",
	"{s} 새 업데이트 마음에 들어요",
}

// grumbleEN are mild dislikes that come with any launch.
var grumbleEN = []string{
	"not a fan of the new {s} icon tbh",
	"why did {s} move the cart button in {v}, annoying",
	"the new {s} colours are a bit much",
}

// complaintEN holds ordinary complaints by category, without a version.
var complaintEN = map[string][]string{
	"login": {
		"{s} keeps logging me out, so annoying",
		"can't log in to {s}, says wrong password but it's right",
		"{s} 2fa code never arrives, stuck at login",
		"locked out of my {s} account again",
	},
	"crash": {
		"{s} app crashed while I was paying",
		"{s} keeps crashing on my phone",
		"{s} froze on the product page again",
	},
	"outage": {
		"is {s} down? nothing loads",
		"{s} website not loading for me",
		"{s} servers down again?",
	},
	"slow": {
		"{s} is so slow today",
		"{s} search takes forever to load",
		"{s} app is laggy this evening",
	},
	"payment": {
		"{s} declined my card for no reason",
		"{s} checkout failed twice, payment error",
		"got charged twice by {s}, waiting for a refund",
	},
	"bug": {
		"{s} shows the wrong price in the cart, buggy",
		"{s} coupon not applied at checkout, bug?",
		"blank screen on the {s} orders page",
	},
	"data_loss": {
		"my {s} wishlist disappeared",
		"{s} lost my saved addresses",
	},
	"other": {
		"{s} delivery is late again, terrible",
		"{s} customer service is awful today",
		"worst {s} experience, the parcel arrived damaged",
		"{s} raised prices again, ugh",
	},
}

var complaintKO = map[string][]string{
	"login": {
		"{s} 로그인이 계속 풀려요",
		"{s} 로그인 안돼요 비밀번호 맞는데",
		"{s} 인증번호가 안 와서 로그인 못 해요",
	},
	"crash": {
		"{s} 앱 계속 튕겨요 ㅠㅠ",
		"{s} 결제하다가 앱이 꺼졌어요",
	},
	"outage": {
		"{s} 먹통인가요? 접속이 안 돼요",
		"{s} 서버 장애인가요",
	},
	"slow": {
		"{s} 오늘 너무 느려요",
		"{s} 로딩이 너무 오래 걸려요",
	},
	"payment": {
		"{s} 결제 오류 나요",
		"{s} 결제가 계속 실패해요",
	},
	"bug": {
		"{s} 장바구니 가격이 이상해요 버그인가",
		"{s} 쿠폰 적용이 안 돼요",
	},
	"data_loss": {
		"{s} 찜 목록이 사라졌어요",
	},
	"other": {
		"{s} 배송 또 늦네요 짜증나",
		"{s} 고객센터 연결이 안 되네요 최악",
	},
}

// versionComplaintEN are complaints that blame the new version.
var versionComplaintEN = map[string][]string{
	"login": {
		"since the {s} {v} update I can't log in at all",
		"{s} {v} logs me out every few minutes, please fix",
		"updated {s} to {v} and now it says wrong password",
		"login loop on {s} after updating to {V}",
		"can't sign in since the update, {s} just spins on the login screen",
		"{s} {v}: login broken, 2fa screen never loads",
	},
	"crash": {
		"{s} {v} crashes every time I open the cart",
		"since the update {s} crashes on launch",
		"{s} keeps crashing after updating to {v}",
		"the new {s} version crashes when I tap checkout",
	},
	"outage": {
		"{s} is down since the update, nothing loads",
		"{s} {v} won't load anything, servers down?",
		"is {s} down? new version shows a 503",
		"{s} not loading at all after the update, error 502",
		"{s} completely down for me right now",
		"can't connect to {s}, connection error everywhere",
	},
	"slow": {
		"{s} got so slow after the {v} update",
		"the new {s} version is laggy, takes forever to load",
		"since updating to {v} {s} search is painfully slow",
		"{s} {v} is sluggish, was fine on {p}",
	},
	"payment": {
		"{s} {v} checkout fails, payment error every time",
		"since the update my card gets declined on {s}",
	},
	"bug": {
		"{s} {v} shows a blank screen on the orders page",
		"the new {s} update broke the cart, buttons do nothing",
	},
}

var versionComplaintKO = map[string][]string{
	"login": {
		"{s} {v} 업데이트 후 로그인 안돼요",
		"{s} 업데이트하고 로그인이 계속 풀려요",
		"{s} 새 버전 로그인 오류 나요",
	},
	"crash": {
		"{s} 업데이트 후 앱이 계속 튕겨요",
		"{s} {v} 실행하자마자 꺼져요",
	},
	"outage": {
		"{s} 업데이트 후 접속이 안 돼요",
		"{s} 먹통이에요 서버 장애인가요",
	},
	"slow": {
		"{s} 업데이트 후 너무 느려요",
		"{s} 새 버전 로딩이 너무 오래 걸려요",
	},
	"payment": {
		"{s} 업데이트 후 결제 오류 나요",
	},
	"bug": {
		"{s} 새 버전 버그 있어요 장바구니가 이상해요",
	},
}

// otherOutageEN are complaints about the other service's outage, posted
// under its own name.
var otherOutageEN = []string{
	"{o} is down, can't check my balance",
	"{o} app not loading at all, anyone else?",
	"{o} outage again?? can't make a transfer",
	"is {o} down? login fails with error 503",
	"{o} servers down, payday and I can't pay rent",
	"{o} completely dead right now",
}

var otherOutageKO = []string{
	"{o} 먹통이네요 이체가 안 돼요",
	"{o} 접속 안 돼요 서버 장애인가요",
}

// spillEN are posts found by our service's crawler that talk about the
// other service's outage.
var spillEN = []string{
	"{o} is down so I can't pay on {s} either, great",
	"anyone else's {o} card failing on {s}? it's {o}'s outage",
	"{s} is fine, it's {o} that's down",
}

// spamEN are bot posts: promotional, repeated word for word by many
// accounts, some of them negative.
var spamEN = []string{
	"🔥 FREE {s} gift cards!!! click the link in bio 🔥 #giveaway #{s}",
	"Get 90% off at {s} with this secret code >>> bit.ly/xx9 <<<",
	"{s} is a SCAM!!! they stole my money, buy from our store instead >> cheapdeals",
	"earn $500/day reselling {s} items, DM me",
}

// garbled are broken lines a noisy source produces.
var garbled = []string{
	`{"type":"post","time":"`,
	`{"type":"post","time":"2025-03-04T10:00:00Z","source":"mastodon","id":`,
	`<html><body>502 Bad Gateway</body></html>`,
	"{\"type\":\"post\",\"time\":\"2025-03-04T10:00:00Z\",\"source\":\"mastodon\",\"id\":\"x\",\"service\":\"shop\",\"text\":\"caf\xe9 \xff\"}",
	`{"type":"post","source":"mastodon","id":"no-time","service":"shop","text":"no time field"}`,
	`null`,
}
