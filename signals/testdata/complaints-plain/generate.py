import random
R = random.Random(20261208)
ORDER = "outage,login,payment,crash,slow,bug,data_loss,update".split(",")
EN_NAMES = {"shop":["shop","shop","Shop","shopp","@shop"],"payly":["payly","Payly","paylyy","payli"],
 "streamio":["streamio","Streamio","streamiio","streamio"],"toktok":["toktok","TokTok","tok tok","toktk"],
 "ridego":["ridego","RideGo","ride go","ridego"],"bankit":["bankit","Bankit","bankitt","bankit"],
 "raidzone":["raidzone","RaidZone","raid zone","raidzone"]}
KO_NAMES = {"shop":["샵","샾","shop","샵"],"payly":["페이리","페일리","payly","페이리"],
 "streamio":["스트리미오","스트리미오","streamio","ㅅㅌㄹㅁㅇ"],"toktok":["톡톡","톡톡","톡톸","ㅌㅌ"],
 "ridego":["라이드고","라이드고","ridego","ㄹㅇㄷㄱ"],"bankit":["뱅킷","뱅킷","뱅킨","bankit"],
 "raidzone":["레이드존","레이드존","레존","raidzone"]}
SERV = list(EN_NAMES)
ALL = "*"
# (services, categories, template)  categories "" => 0
EN_C = [
 (["shop","payly","streamio","raidzone","ridego"],"payment","{s} payment keeps failing"),(["shop"],"payment","{s} took the money but my order says unpaid"),
 (["streamio"],"payment","{s} renewed my sub but premium is still locked"),(["shop","payly","streamio","ridego"],"payment","{s} says my card is invalid, it's brand new and works elsewhere"),
 (["shop","streamio","raidzone","ridego"],"payment","double charge on {s} again, two identical lines on my card"),(["shop","payly"],"payment","{s} refund never arrived, 3 weeks now and status stuck"),
 (["payly"],"payment","{s} payout missing, it says sent but nothing"),(["shop","streamio"],"payment","{s} checkout errors out with every card i try"),
 (["ridego"],"payment","{s} charged way more than the quoted fare"),(["ridego"],"payment","{s} charged my tip 10 times lol what"),
 (["bankit"],"payment","{s} autopay went out twice this month"),(["payly","raidzone"],"payment","cant top up {s}, says transaction failed"),
 (["payly","bankit"],"payment","{s} sent the money to nobody, gone from my balance, not received"),(["shop","toktok"],"payment","bought a gift card on {s}, paid, never got the code"),
 (["shop","streamio","toktok"],"data_loss","{s} deleted my saved addresses and cards"),(["toktok","bankit","payly"],"data_loss","{s} points balance reset to zero"),
 (ALL,"outage","{s} is down for me"),(ALL,"outage","{s} won't load"),(ALL,"outage","{s} not loading at all"),
 (ALL,"outage","is {s} down? won't open here"),(ALL,"outage","{s} app won't open"),(ALL,"outage","cant even open {s}"),
 (ALL,"outage","{s} just shows a blank white screen"),(ALL,"outage","{s} giving me 503 on everything"),
 (ALL,"outage","{s} down again??"),(ALL,"outage","{s} wont open at all"),(ALL,"outage","{s} server error every time i open it"),
 (ALL,"outage","{s} stuck on the logo screen, won't go further"),(ALL,"outage","{s} totally dead for me rn"),
 (ALL,"login","can't log in to {s}"),(ALL,"login","{s} keeps logging me out"),(ALL,"login","{s} verification code never arrives"),
 (ALL,"login","{s} says wrong password but it's definitely right"),(ALL,"login","{s} locked my account for no reason"),
 (ALL,"login","password reset on {s} doesn't work"),(ALL,"login","cant login to {s} since this morning"),
 (ALL,"login","{s} logged me out and now it won't let me back in"),(ALL,"login","{s} 2fa code not coming"),
 (ALL,"login","face id login on {s} stopped working"),(ALL,"login","{s} session expired like 5 times today"),
 (ALL,"crash","{s} keeps crashing"),(ALL,"crash","{s} keeps crashing on my phone"),(ALL,"crash","{s} crashes every time i open it" ),
 (ALL,"crash","{s} closes itself after a few seconds"),(ALL,"crash","{s} froze and i had to restart the app"),
 (ALL,"crash","{s} crashed 3 times in 10 minutes"),(ALL,"crash","{s} app just force closes"),(ALL,"crash","{s} kicked me out of the app again"),
 (ALL,"slow","why is {s} so slow today"),(ALL,"slow","{s} loading forever"),(ALL,"slow","{s} is sooo slow"),
 (ALL,"slow","{s} spinning wheel for ages"),(ALL,"slow","{s} takes a full minute to open anything"),(ALL,"slow","{s} super laggy tonight"),
 (ALL,"slow","{s} timing out constantly"),(ALL,"slow","everything in {s} is lagging"),
 (ALL,"bug","{s} notifications not coming through"),(ALL,"bug","{s} search shows nothing"),(ALL,"bug","buttons in {s} don't do anything"),
 (ALL,"bug","{s} settings page is blank"),(ALL,"bug","{s} dark mode text is unreadable, black on black"),
 (ALL,"bug","{s} shows the wrong date on everything"),(ALL,"bug","{s} keeps showing an error when i tap save"),
 (ALL,"bug","{s} layout is all broken on my tablet"),(ALL,"bug","{s} profile pic won't update"),
 (ALL,"data_loss","all my {s} history is gone"),(ALL,"data_loss","{s} wiped my saved stuff"),(ALL,"data_loss","{s} lost all my settings"),
 (ALL,"update","the new {s} update is terrible"),(ALL,"update","{s} update drains my battery now"),
 (ALL,"crash,update","{s} crashes since the update"),(ALL,"slow,update","{s} got so slow after the last update"),
 (ALL,"login,update","after updating {s} i cant log in"),(ALL,"bug,update","{s} update broke notifications"),
 (ALL,"outage,update","{s} won't open after the update"),(ALL,"update","{s} update removed the widget i used every day"),
 (["shop"],"payment","payment failed three times in a row on {s}"),(["shop","payly","streamio","raidzone"],"payment","{s} charged me twice"),
 (["shop","payly","ridego","streamio"],"payment","card keeps getting declined on {s}, works everywhere else"),
 (["shop"],"payment","{s} checkout won't go through"),(["shop"],"payment","{s} checkout spins then says payment error"),
 (["streamio"],"payment","paid for {s} premium but still getting the free plan"),(["payly"],"payment","{s} transfer failed but money left my account"),
 (["payly"],"payment","sending money on {s} fails every time"),(["payly","bankit"],"payment","{s} payment failed at the store, so embarrassing"),
 (["shop"],"payment","{s} refund still not showing, it says completed"),(["ridego"],"payment","{s} charged me for a ride i cancelled"),
 (["ridego"],"payment","{s} charged me double for one trip"),(["bankit"],"payment","{s} transfer stuck on pending for 2 days"),
 (["bankit"],"payment","cant send money on {s}, just says error"),(["raidzone"],"payment","bought gems on {s}, got charged, no gems"),
 (["streamio"],"slow","{s} buffering nonstop"),(["streamio"],"outage","videos won't load on {s}"),(["streamio"],"bug","{s} audio out of sync again"),
 (["streamio"],"bug","{s} subtitles not showing up"),(["streamio"],"slow","{s} stuck at 480p and buffering"),(["streamio"],"bug","no sound on {s} on my tv"),
 (["streamio"],"data_loss","{s} continue watching list is gone"),(["streamio"],"data_loss","my {s} watchlist disappeared"),
 (["streamio"],"crash","{s} crashes halfway through every episode"),(["streamio"],"bug","{s} keeps skipping to the next episode on its own"),
 (["toktok"],"bug","{s} messages not sending"),(["toktok"],"bug","photos won't upload on {s}"),(["toktok"],"bug","{s} voice calls keep dropping"),
 (["toktok"],"slow","{s} messages arriving like 20 min late"),(["toktok"],"data_loss","{s} chat history gone after restart"),
 (["toktok"],"data_loss","all my {s} photos in the group chat vanished"),(["toktok"],"bug","{s} read receipts stuck"),
 (["toktok"],"bug","{s} video upload fails at 99%"),(["toktok"],"crash","{s} crashes when i send a voice note"),
 (["shop"],"bug","{s} order tracking says delivered but nothing came, tracking page is wrong"),(["shop"],"data_loss","{s} emptied my cart again"),
 (["shop"],"bug","{s} search returns nothing for anything i type"),(["shop"],"bug","{s} shows wrong total at checkout"),
 (["shop"],"bug","{s} coupon field does nothing"),(["shop"],"data_loss","my {s} wishlist is gone"),(["shop"],"bug","{s} order page won't show my orders"),
 (["shop"],"bug","{s} says my refund is 0 dollars, wrong amount on screen"),
 (["ridego"],"bug","{s} map not loading, just grey"),(["ridego"],"bug","{s} driver location frozen on the map"),(["ridego"],"bug","{s} pickup pin keeps jumping to the wrong street"),
 (["ridego"],"bug","cant request a ride on {s}, button greyed out"),(["ridego"],"slow","{s} map so laggy i cant set pickup"),
 (["ridego"],"bug","{s} gps shows me in the river lol"),(["ridego"],"data_loss","{s} lost my saved home address"),
 (["bankit"],"bug","{s} balance showing wrong amount"),(["bankit"],"bug","{s} transactions not showing up"),(["bankit"],"login","{s} fingerprint login broken"),
 (["bankit"],"data_loss","{s} deleted all my saved payees"),(["bankit"],"outage","{s} app says service unavailable"),
 (["payly"],"bug","{s} shows my payment twice in history"),(["payly"],"login","{s} otp never arrives"),(["payly"],"bug","{s} qr scanner won't scan anything"),
 (["payly"],"data_loss","my linked cards on {s} are gone"),
 (["raidzone"],"slow","{s} lag is unplayable tonight"),(["raidzone"],"slow","{s} ping 300+ again"),(["raidzone"],"outage","{s} servers down??"),
 (["raidzone"],"crash","{s} crashes during boss fight every time"),(["raidzone"],"crash","{s} disconnects and closes mid match"),
 (["raidzone"],"data_loss","my {s} inventory got wiped"),(["raidzone"],"bug","{s} quest won't complete, stuck at 9/10"),
 (["raidzone"],"login","{s} login queue error, cant get in"),(["raidzone"],"slow,update","{s} fps dropped hard after the patch"),
]
EN_SUF = ["", "", "", "", " 😡", " ugh", " again", " since this morning", " smh", " pls fix", " 🙃", " anyone else?", " wtf", " 😭", " ffs", " help", " ..", " rn", " today", " seriously", " 😤", " for the 3rd time today", " fix it pls", " ??"]
EN_PRE = ["", "", "", "", "", "ugh ", "bruh ", "ok so ", "lol ", "great, ", "hey ", "welp "]
KO_C = [
 (["shop","payly","streamio","raidzone","ridego"],"payment","{s} 결제 오류 계속 남"),(["shop"],"payment","{s} 돈은 나갔는데 주문이 안 됐대요"),
 (["shop","payly","streamio","ridego"],"payment","{s} 카드 등록하면 유효하지 않대요"),(["shop","payly"],"payment","{s} 환불 3주째 안 들어옴"),
 (["payly","raidzone"],"payment","{s} 충전 실패 뜸"),(["ridego"],"payment","{s} 요금 예상보다 두 배 나옴"),(["bankit"],"payment","{s} 자동이체 두 번 빠져나감"),
 (["streamio","raidzone"],"payment","{s} 정기결제 됐는데 이용권이 없어요"),(["toktok","shop"],"payment","{s} 선물하기 결제했는데 선물 안 감"),
 (["toktok","bankit","payly"],"data_loss","{s} 포인트 0원 됨"),(["shop","toktok"],"data_loss","{s} 저장된 배송지 다 없어짐"),
 (ALL,"outage","{s} 안 들어가져요"),(ALL,"outage","{s} 접속 안 됨"),(ALL,"outage","{s} 서버 터졌나요? 안 열려요"),(ALL,"outage","{s} 먹통이네"),
 (ALL,"outage","{s} 앱 안 열림"),(ALL,"outage","{s} 하얀 화면만 나와요"),(ALL,"outage","{s} 또 안 됨"),(ALL,"outage","{s} 켜지지를 않아요"),
 (ALL,"login","로그인 안됨 ㅠ {s}"),(ALL,"login","{s} 로그인이 안 돼요"),(ALL,"login","{s} 자꾸 로그아웃됨"),(ALL,"login","{s} 인증번호 안 와요"),
 (ALL,"login","{s} 비번 맞는데 틀렸대요"),(ALL,"login","{s} 계정 잠겼어요 아무것도 안 했는데"),(ALL,"login","{s} 아침부터 로그인 안 됨"),
 (ALL,"crash","{s} 앱 튕김"),(ALL,"crash","{s} 계속 튕겨요"),(ALL,"crash","{s} 켜자마자 꺼짐"),(ALL,"crash","{s} 멈춰서 재부팅함"),
 (ALL,"crash","{s} 자꾸 꺼져요"),(ALL,"crash","{s} 튕김 ㅅㅂ"),
 (ALL,"slow","{s} 렉이 너무 심해요"),(ALL,"slow","{s} 왜 이렇게 느려요"),(ALL,"slow","{s} 로딩 오래 걸림"),(ALL,"slow","{s} 로딩만 계속 돌아감"),
 (ALL,"slow","오늘 {s} 개느림"),(ALL,"slow","{s} 버벅임 심함"),
 (ALL,"bug","{s} 알림이 안 와요"),(ALL,"bug","{s} 검색 안 됨"),(ALL,"bug","{s} 버튼 눌러도 반응 없음"),(ALL,"bug","{s} 오류 뜨네요"),
 (ALL,"bug","{s} 화면 깨져요"),(ALL,"bug","{s} 설정 저장이 안 돼요"),
 (ALL,"data_loss","{s} 기록 다 날아감"),(ALL,"data_loss","{s} 저장한 거 다 사라졌어요"),
 (ALL,"update","{s} 업데이트 최악"),(ALL,"crash,update","{s} 업데이트 후 계속 튕김"),(ALL,"slow,update","{s} 업뎃하고 나서 느려짐"),
 (ALL,"bug,update","{s} 업데이트 후 알림 안 옴"),(ALL,"login,update","업뎃 후 {s} 로그인 안 됨"),(ALL,"update","{s} 업데이트하고 배터리 광탈"),
 (["shop","payly"],"payment","{s} 결제 안 돼요"),(["shop","payly","streamio","raidzone"],"payment","{s} 결제 두 번 됨"),(["shop"],"payment","{s} 결제 실패 세 번째"),
 (["shop","ridego","streamio"],"payment","{s} 카드 결제 계속 거절됨"),(["shop"],"payment","{s} 환불 완료라는데 돈이 안 들어옴"),
 (["payly"],"payment","{s} 송금 실패했는데 돈은 빠짐"),(["payly"],"payment","{s} 편의점에서 결제 안 돼서 민망"),(["bankit"],"payment","{s} 이체가 안 돼요"),
 (["bankit"],"payment","{s} 이체 보류 상태로 이틀째"),(["ridego"],"payment","{s} 취소한 건데 요금 나감"),(["raidzone"],"payment","{s} 현질했는데 다이아 안 들어옴"),
 (["streamio"],"payment","{s} 구독 결제됐는데 프리미엄 안 풀림"),
 (["streamio"],"slow","{s} 버퍼링 계속"),(["streamio"],"outage","{s} 영상 재생 안 됨"),(["streamio"],"bug","{s} 소리랑 화면 싱크 안 맞음"),
 (["streamio"],"bug","{s} 자막 안 나와요"),(["streamio"],"data_loss","{s} 이어보기 목록 사라짐"),(["streamio"],"slow","{s} 화질 계속 떨어지고 끊김"),
 (["toktok"],"bug","{s} 메시지 전송 안 됨"),(["toktok"],"bug","{s} 사진 업로드 안 돼요"),(["toktok"],"slow","{s} 메시지 늦게 와요"),
 (["toktok"],"data_loss","{s} 대화방 날아감"),(["toktok"],"bug","{s} 보이스톡 자꾸 끊김"),(["toktok"],"data_loss","{s} 사진 다 사라졌어요"),
 (["toktok"],"crash","{s} 음성메시지 보내면 튕김"),
 (["shop"],"data_loss","{s} 장바구니 또 비워짐"),(["shop"],"bug","{s} 주문내역 안 보여요"),(["shop"],"bug","{s} 쿠폰 적용이 안 돼요"),
 (["shop"],"bug","{s} 배송조회 오류"),(["shop"],"bug","{s} 결제금액 이상하게 표시됨"),(["shop"],"data_loss","{s} 찜목록 사라짐"),
 (["ridego"],"bug","{s} 지도 안 떠요"),(["ridego"],"bug","{s} 기사님 위치 멈춰있음"),(["ridego"],"bug","{s} 호출 버튼이 안 눌려요"),
 (["ridego"],"bug","{s} 출발지 핀 자꾸 엉뚱한 데 찍힘"),(["ridego"],"data_loss","{s} 즐겨찾기 주소 날아감"),
 (["bankit"],"bug","{s} 잔액 이상하게 나옴"),(["bankit"],"login","{s} 지문 로그인 안 됨"),(["bankit"],"login","{s} 인증서 로그인 오류"),
 (["bankit"],"bug","{s} 거래내역 안 뜸"),(["bankit"],"outage","{s} 점검중이라는데 공지도 없었음"),
 (["payly"],"bug","{s} QR 인식 안 됨"),(["payly"],"login","{s} 간편비번 계속 틀렸대"),(["payly"],"data_loss","{s} 등록한 카드 다 없어짐"),
 (["raidzone"],"slow","{s} 핑 300 실화냐"),(["raidzone"],"outage","{s} 서버 터짐"),(["raidzone"],"crash","{s} 보스 잡다가 튕김"),
 (["raidzone"],"data_loss","{s} 인벤 아이템 증발"),(["raidzone"],"slow,update","{s} 패치 후 프레임 드랍 심함"),(["raidzone"],"login","{s} 로그인 대기열에서 오류남"),
]
KO_SUF = ["", "", "", " ㅠ", " ㅠㅠ", " ㅡㅡ", " 😡", " 진짜", " 아오", " 왜이럼", " 짜증나", " 또", " ㅋㅋ 미치겠네", " 🙃", " 아침부터", " 하..", " 나만 그래요?", " 빨리 고쳐주세요", " ㅜㅜ", " ㄹㅇ", " 😭", " 오늘 계속", " 어제부터"]
KO_PRE = ["", "", "", "", "아 ", "와 ", "헐 ", "아니 ", "또 ", "ㅠ "]

used={}
def norm(cat): return ",".join(c for c in ORDER if c in cat.split(","))

def lowercase_maybe(t): return t.lower() if R.random()<0.5 else t

def gen_c(lang, n, pool, names, pre, suf):
    out=set(); res=[]
    expanded=[]
    for sv,cat,t in pool:
        for s in (SERV if sv==ALL else sv): expanded.append((s,cat,t))
    tries=0
    while len(res)<n and tries<200000:
        tries+=1
        s,cat,t=R.choice(expanded)
        p_,q_=R.choice(pre),R.choice(suf)
        if p_.strip() and p_.strip()==q_.strip(): continue
        core=t.format(s=R.choice(names[s]))
        if q_.strip() and q_.strip().split()[-1] in core.split(): continue
        if p_.strip() and p_.strip() in core.split(): continue
        if used.get(core,0)>=2: continue
        used[core]=used.get(core,0)+1
        txt=(p_+core+q_).strip()
        if lang=="en": txt=lowercase_maybe(txt)
        if txt in out: continue
        out.add(txt); res.append((lang,s,1,norm(cat),txt))
    return res

EN_CHOICE = lambda l: R.choice(l)
ITEMS=["a new phone case","socks","a desk lamp","cat food","headphones","a rice cooker","running shoes","a birthday gift for my mom","phone charger","coffee beans","a winter jacket","lego set","notebook and pens","a yoga mat","dish soap lol"]
SHOWS=["that new crime show","the baking series","a horror movie","season 2 of the space show","a documentary about octopuses","the kdrama everyone talks about","old sitcom reruns","the anime movie"]
PLACES=["the airport","work","my friend's place","the concert","the train station","the hospital for a checkup","dinner downtown","the stadium"]
FEAT=["dark mode","new widget","split bill","offline downloads","new sticker pack","scheduled transfers","new map view","group calls","wishlist sharing","saved routes","new season pass","voice search"]
HOWTO=["change my email","turn off autoplay","add a second card","export my chat","delete my account","change the language","set a spending limit","share my location","download for offline","link my bank","change my nickname","turn on 2fa","split a payment","report a driver","get a receipt"]
PURP=["travel","splitting rent","work chats","kids' shows","groceries","commuting","paying friends back","budgeting","group trips","late night snacks"]
EN_N = [
 (ALL,"{s} new feature is actually nice"),(ALL,"loving {s} {f}"),(ALL,"{s} has been so smooth lately"),(ALL,"{s} support fixed my issue in 5 min, thanks!"),
 (ALL,"honestly {s} is the best app for {p}"),(ALL,"how do i {h} in {s}?"),(ALL,"can i {h} in {s}?"),(ALL,"anyone using {s} for {p}?"),
 (ALL,"is {s} worth it for {p}?"),(ALL,"tip: you can {h} in {s} settings"),(ALL,"finally figured out how to {h} on {s}"),(ALL,"{s} {f} is a game changer"),
 (ALL,"wish {s} had {f} tbh"),(ALL,"{s} please add {f}"),(ALL,"thank you {s} ❤️"),(ALL,"{s} ui looks so clean now"),(ALL,"new {s} icon is cute"),
 (ALL,"does anyone know if {s} works in japan"),(ALL,"switching to {s} this month, any tips?"),(ALL,"{s} vs the others, which do u use"),
 (ALL,"been using {s} for 2 years, zero regrets"),(ALL,"{s} just sent me a birthday coupon lol cute"),(ALL,"where is the {f} option in {s}?"),
 (["shop"],"just ordered {i} from {s}"),(["shop"],"{s} delivery came a day early 🙌"),(["shop"],"got {i} from {s}, super happy"),(["shop"],"{s} sale starts friday, making a list"),
 (["shop"],"returned {i} on {s}, easy process"),(["streamio"],"watching {w} on {s} tonight"),(["streamio"],"{s} recommendations are weirdly good"),
 (["streamio"],"finished {w} on {s}, what next?"),(["streamio"],"any good picks on {s} this weekend?"),(["ridego"],"taking a {s} to {pl}"),
 (["ridego"],"{s} driver was so nice today"),(["ridego"],"booked a {s} for {pl} tomorrow morning"),(["payly"],"sent my share of {p} via {s}, done"),
 (["payly"],"{s} cashback hit my account today nice"),(["payly"],"paid for {i} with {s} in like 2 seconds"),(["bankit"],"{s} savings goal feature keeps me honest"),
 (["bankit"],"opened a {s} account today, took 5 min"),(["bankit"],"salary landed in {s} 💸"),(["toktok"],"made a {s} group for {p}"),
 (["toktok"],"{s} new stickers are adorable"),(["toktok"],"call me on {s} later"),(["raidzone"],"grinding {s} all weekend"),(["raidzone"],"new {s} season looks sick"),
 (["raidzone"],"who wants to duo {s} tonight"),(["raidzone"],"finally hit gold in {s} 🥳"),(["raidzone"],"{s} new map is huge"),
]
EN_NONE = ["it's so cold today","coffee first, then everything else","who else is watching the game tonight","my cat knocked my mug off the desk again","monday again huh",
 "just finished a 5k 🏃","anyone have a good soup recipe","new phone arrived, setting it up","traffic was wild this morning","weekend plans: sleep",
 "what's everyone reading rn","my plants are finally growing","rain all week apparently","lunch was amazing today","going to bed early for once",
 "does anyone else keep 40 tabs open","my keyboard is so loud lol","happy friday everyone","forgot my umbrella, classic","trying to learn guitar again",
 "which laptop should i get for uni","the sunset today 😍","brb making pancakes","moving apartments next week, pray for me","my dog snores so loud",
 "first snow of the year!","anyone going to the concert saturday?","ordered pizza, no regrets","new haircut who dis","need a good podcast for the commute"]
EN_HARD0 = [
 (ALL,"{s} is back up for me, took like an hour but all good now"),(ALL,"been on the new {s} version a week, zero problems so far"),(ALL,"praying {s} survives black friday traffic this year"),
 (ALL,"people saying {s} had issues last night? was asleep, works for me"),(ALL,"tech site says {s} had a big outage in asia overnight"),(ALL,"not even gonna say it. {s} 🤬🤬"),
 (ALL,"my phone is dying, not {s}'s fault lol"),(ALL,"my wifi died so no {s} tonight"),(ALL,"{s} subscription going up $2 next month, kinda annoying"),
 (ALL,"{s} ads are getting out of hand"),(ALL,"[status] {s} maintenance tonight 2-4am"),(ALL,"{s} was slow earlier but it's fine now"),
 (ALL,"{s} customer service was so rude to me"),(ALL,"i'm the one crashing after this week, not {s} lol"),(ALL,"scared to install the new {s} version before my trip tbh"),
 (ALL,"my credit union froze my card for a fraud check, nothing to do with {s}"),(ALL,"{s} fixed the lag, feels snappy again"),
 (["streamio"],"{s} originals this year are mid"),(["streamio"],"{s} removed my favourite show from the catalogue 😢"),
 (["ridego"],"{s} surge pricing on a friday night is insane"),(["ridego"],"my {s} driver took a weird route but whatever"),
 (["shop"],"courier left my {s} package in the rain, ugh couriers"),(["raidzone"],"got matched with smurfs all night in {s} 🙄"),
]
EN_HARD1 = [
 (ALL,"bug","love how {s} shows a different error every time, very creative 🙃"),(ALL,"login","great, {s} logged me out for the 4th time, love that for me"),
 (["streamio"],"slow","{s} ⏳ still ⏳ still ⏳"),(ALL,"crash","{s} app closes itself, cool feature i guess"),(["payly","shop"],"payment","wow {s} took my money twice for one order, what a deal 🙃"),
 (ALL,"bug","{s} was great until today, now notifications just don't show up"),
]
KO_N = [
 (ALL,"{s} 새 기능 좋네요"),(ALL,"{s} {f} 좋아요"),(ALL,"{s} 요즘 빠르고 좋음"),(ALL,"{s} 고객센터 친절하시네요 감사합니다"),(ALL,"{s} {h} 어떻게 해요?"),
 (ALL,"{s}로 {p} 하시는 분?"),(ALL,"{s} 쓰시는 분들 {p}할 때 편해요?"),(ALL,"{s} 설정에서 {h} 가능해요 꿀팁"),(ALL,"{s} {f} 추가해주세요"),
 (ALL,"{s} 디자인 깔끔해졌네"),(ALL,"{s} 아이콘 바뀐 거 귀엽다"),(ALL,"{s} 해외에서도 돼요?"),(ALL,"{s} 2년째 쓰는데 만족"),(ALL,"{s} 감사해요 ❤️"),
 (ALL,"{s} {f} 어디 있어요?"),(ALL,"{s} 처음 써보는데 팁 있나요"),
 (["shop"],"{s}에서 {i} 주문함"),(["shop"],"{s} 배송 하루 빨리 왔다 👍"),(["shop"],"{s} 세일 금요일부터래요"),(["streamio"],"오늘 밤 {s}로 {w} 볼 거임"),
 (["streamio"],"{s} 추천작 뭐 있어요?"),(["ridego"],"{s} 타고 {pl} 가는 중"),(["ridego"],"{s} 기사님 친절하셨어요"),(["payly"],"{s}로 {p} 정산 끝"),
 (["payly"],"{s} 캐시백 들어왔다 ㅎㅎ"),(["bankit"],"{s} 계좌 5분 만에 만듦"),(["bankit"],"{s} 월급 들어옴 💸"),(["toktok"],"{s} 새 이모티콘 귀여워"),
 (["toktok"],"{s} 단톡방 만들었어요"),(["raidzone"],"주말에 {s} 달린다"),(["raidzone"],"{s} 새 시즌 기대됨"),(["raidzone"],"{s} 같이 할 사람"),
]
KO_ITEMS=["폰케이스","양말","스탠드","고양이 사료","이어폰","밥솥","운동화","엄마 생일선물","충전기","원두","패딩","레고","요가매트","텀블러","라면 한 박스"]
KO_SHOWS=["새 드라마","요리 예능","공포영화","다큐","애니 극장판","시트콤 재방","범죄 스릴러"]
KO_PLACES=["공항","회사","친구 집","콘서트장","역","병원","시내"]
KO_FEAT=["다크모드","새 위젯","더치페이","오프라인 저장","새 이모티콘","예약이체","새 지도","그룹통화","선물하기","즐겨찾기 경로","시즌패스","음성검색"]
KO_HOWTO=["이메일 변경","자동재생 끄기","카드 추가","대화 내보내기","탈퇴","언어 변경","한도 설정","위치 공유","다운로드","계좌 연결","닉네임 변경","2단계 인증 설정","영수증 발급"]
KO_PURP=["여행","월세 나누기","업무","애들 보기","장보기","출퇴근","더치페이","가계부","단체 여행","야식"]
KO_NONE = ["오늘 진짜 춥다","커피부터 마시고 시작","오늘 경기 보시는 분","고양이가 또 컵 떨어뜨림","월요일 싫다 ㅋㅋ 출근하기 싫어","5km 뛰고 옴","김치찌개 레시피 추천 좀",
 "새 폰 왔다","출근길 차 개막힘","주말엔 잠만 잘 거임","요즘 무슨 책 읽어요?","비 일주일 내내 온대","점심 존맛","오늘은 일찍 잔다","기타 다시 배우는 중",
 "노트북 뭐 살까요","노을 미쳤다 😍","이사 다음 주임 ㅠ","강아지 코골이 ㅋㅋ","첫눈 왔어요!","불금이다","ㅋㅋㅋㅋ 오늘 웃긴 일 있었음","헬스 3일차","야식 참는 중","ㅎㅇ 다들 뭐함"]
KO_HARD0 = [
 (ALL,"{s} 아까 안 되던 거 지금은 다 돼요"),(ALL,"{s} 새 버전 일주일째 문제 하나도 없음"),(ALL,"블프 때 {s} 버텨줄까 걱정"),(ALL,"어제 밤에 {s} 안 됐다며? 난 자서 모름"),
 (ALL,"[속보] {s} 접속 장애 수천 명 피해"),(ALL,"하 {s} 진짜... 말을 말자 🤬"),(ALL,"폰이 오래돼서 느린 거지 {s} 문제는 아님"),(ALL,"집 와이파이 나가서 {s} 못 함"),
 (ALL,"{s} 구독료 다음 달부터 오른대 ㅡㅡ"),(ALL,"{s} 광고 너무 많아짐"),(ALL,"[공지] {s} 오늘 새벽 2-4시 점검"),(ALL,"아까 {s} 느렸는데 지금은 괜찮네"),
 (ALL,"{s} 상담원 말투 너무 불친절"),(ALL,"{s} 업데이트 하면 뭐 깨지는 거 아니겠지"),(ALL,"{s}는 멀쩡한데 내 멘탈이 튕김 ㅋㅋ"),
 (["streamio"],"{s} 오리지널 요즘 별로"),(["ridego"],"{s} 금요일 밤 요금 미쳤네"),(["shop"],"택배기사님이 {s} 택배 문 앞에 던지고 감"),
]
KO_HARD1 = [
 (ALL,"bug","{s} 오류 메시지 매번 다르게 뜸 창의적이네 🙃"),(ALL,"login","{s} 로그아웃 오늘만 4번째 ㅎㅎ 감사합니다^^"),(["streamio"],"slow","{s} 영상 하나 보는데 🔄 돌고 또 돌고"),
 (["toktok"],"crash","{s} 사진 누르면 앱 꺼짐 💥"),(["payly","shop"],"payment","{s} 한 번 샀는데 두 번 빠져나감 ㅋㅋ 감사하네요^^"),
]

def fill(t, s, lang):
    if lang=="en":
        return t.format(s=s, f=R.choice(FEAT), h=R.choice(HOWTO), p=R.choice(PURP), i=R.choice(ITEMS), w=R.choice(SHOWS), pl=R.choice(PLACES))
    return t.format(s=s, f=R.choice(KO_FEAT), h=R.choice(KO_HOWTO), p=R.choice(KO_PURP), i=R.choice(KO_ITEMS), w=R.choice(KO_SHOWS), pl=R.choice(KO_PLACES))

FEAT_S={"shop":["wishlist sharing","one-click reorder","price alerts","gift wrapping option","new order tracker"],
 "payly":["split bill","new qr pay","spending stats","scheduled payments","cashback tab"],
 "streamio":["offline downloads","skip intro button","new kids profile","watch party","dark mode"],
 "toktok":["new sticker pack","group calls","message reactions","chat folders","new widget"],
 "ridego":["saved routes","new map view","scheduled rides","fare split","quiet ride option"],
 "bankit":["savings goals","scheduled transfers","spending categories","new widget","dark mode"],
 "raidzone":["new season pass","ranked mode","voice chat","new map","spectator mode"]}
HOW_S={"shop":["track my order","change my delivery address","cancel an order","get a receipt","use two coupons"],
 "payly":["add a second card","split a payment","set a spending limit","link my bank","turn on 2fa"],
 "streamio":["turn off autoplay","download for offline","add a kids profile","change subtitle size","share my account with family"],
 "toktok":["export my chat","change my nickname","mute a group","back up my chats","hide my last seen"],
 "ridego":["share my ride with a friend","report a lost item","add a stop","change payment method","tip the driver"],
 "bankit":["raise my transfer limit","get a statement","freeze my card","set up autopay","change my pin"],
 "raidzone":["change my server region","remap keys","add friends","redeem a code","turn on voice chat"]}
KFEAT_S={"shop":["찜 공유","재주문 버튼","가격 알림","선물포장","배송조회"],"payly":["더치페이","QR결제","소비 통계","예약결제","캐시백 탭"],
 "streamio":["오프라인 저장","오프닝 건너뛰기","키즈 프로필","같이보기","다크모드"],"toktok":["새 이모티콘","그룹통화","메시지 반응","채팅 폴더","새 위젯"],
 "ridego":["즐겨찾기 경로","새 지도","예약 호출","요금 나누기","조용한 운행"],"bankit":["저축 목표","예약이체","소비 분류","새 위젯","다크모드"],
 "raidzone":["시즌패스","랭크 모드","보이스챗","새 맵","관전 모드"]}
KHOW_S={"shop":["배송지 변경","주문 취소","영수증 발급","쿠폰 두 개 쓰기","반품 신청"],"payly":["카드 추가","더치페이","한도 설정","계좌 연결","2단계 인증 설정"],
 "streamio":["자동재생 끄기","다운로드","키즈 프로필 추가","자막 크기 변경","가족 공유"],"toktok":["대화 내보내기","닉네임 변경","단톡 알림 끄기","대화 백업","프사 숨기기"],
 "ridego":["동승자 공유","분실물 신고","경유지 추가","결제수단 변경","기사님 팁"],"bankit":["이체한도 올리기","거래내역서 발급","카드 정지","자동이체 설정","비번 변경"],
 "raidzone":["서버 변경","키 설정","친구 추가","쿠폰 입력","보이스챗 켜기"]}
PURP_S={"shop":["groceries","gifts","back to school stuff","home stuff"],"payly":["splitting rent","paying friends back","group trips","small shops"],
 "streamio":["kids' shows","anime","movie nights","documentaries"],"toktok":["work chats","family group chat","group trips","voice calls abroad"],
 "ridego":["commuting","airport runs","late nights out","travel"],"bankit":["budgeting","saving up","travel money","a joint account"],
 "raidzone":["casual play","ranked","playing with friends","solo grinding"]}
KPURP_S={"shop":["장보기","선물","생필품","자취템"],"payly":["월세 나누기","더치페이","여행 정산","동네 가게 결제"],"streamio":["애니","영화","다큐","애들 보기"],
 "toktok":["업무","가족 단톡","여행 준비","해외 통화"],"ridego":["출퇴근","공항 가기","늦은 귀가","여행"],"bankit":["가계부","적금","여행 경비","모임통장"],"raidzone":["가볍게 하기","랭겜","친구랑 하기","솔플"]}
def fill(t, s, lang, sv):
    if lang=="en":
        return t.format(s=s, f=R.choice(FEAT_S[sv]), h=R.choice(HOW_S[sv]), p=R.choice(PURP_S[sv]), i=R.choice(ITEMS), w=R.choice(SHOWS), pl=R.choice(PLACES))
    return t.format(s=s, f=R.choice(KFEAT_S[sv]), h=R.choice(KHOW_S[sv]), p=R.choice(KPURP_S[sv]), i=R.choice(KO_ITEMS), w=R.choice(KO_SHOWS), pl=R.choice(KO_PLACES))

NSUF_EN=["",""," lol"," 😊"," !"," tbh"," 🙏"," :)"," haha",""," ngl"]
NSUF_KO=["","",""," ㅎㅎ"," ㅋㅋ"," 😊"," !!"," ㅎ"," 👍"]
def gen_pool(lang, n, pool, names, sufs, seen, label, cats_given=False, tag="plain"):
    exp=[]
    for row in pool:
        sv=row[0]
        for s in (SERV if sv==ALL else sv): exp.append((s,)+row[1:])
    res=[]; tries=0
    while len(res)<n and tries<100000:
        tries+=1
        r=R.choice(exp); s=r[0]
        cat=r[1] if cats_given else ""; t=r[-1]
        core=fill(t,R.choice(names[s]),lang,s)
        if used.get(core,0)>=2: continue
        txt=(core+R.choice(sufs)).strip()
        if lang=="en" and R.random()<0.5: txt=txt.lower()
        if txt in seen: continue
        used[core]=used.get(core,0)+1
        seen.add(txt); res.append((lang,s,label,norm(cat) if cat else "",txt,tag))
    return res

def build():
    rows=[]
    seen=set()
    # EN: 605 rows, 272 complaints (hard1 10), zeros 333 (hard0 ~75, none 30)
    c=gen_c("en",262,EN_C,EN_NAMES,EN_PRE,EN_SUF); rows+=[x+("plain",) for x in c]; seen|={x[4] for x in c}
    rows+=gen_pool("en",12,EN_HARD1,EN_NAMES,[""," smh"," 🙄"],seen,1,True,"hard")
    rows+=gen_pool("en",80,EN_HARD0,EN_NAMES,["",""," lol"," ugh"],seen,0,False,"hard")
    for t in EN_NONE:
        seen.add(t); rows.append(("en","none",0,"",t,"plain"))
    rows+=gen_pool("en",605-len(rows),EN_N,EN_NAMES,NSUF_EN,seen,0,False,"plain")
    nen=len(rows)
    c=gen_c("ko",213,KO_C,KO_NAMES,KO_PRE,KO_SUF); rows+=[x+("plain",) for x in c]; seen|={x[4] for x in c}
    rows+=gen_pool("ko",10,KO_HARD1,KO_NAMES,["",""," ㅋㅋ"],seen,1,True,"hard")
    rows+=gen_pool("ko",68,KO_HARD0,KO_NAMES,["",""," ㅋㅋ"," ㅎ"],seen,0,False,"hard")
    for t in KO_NONE:
        seen.add(t); rows.append(("ko","none",0,"",t,"plain"))
    rows+=gen_pool("ko",495-(len(rows)-nen),KO_N,KO_NAMES,NSUF_KO,seen,0,False,"plain")
    return rows

rows=build()
en=[r for r in rows if r[0]=="en"]; ko=[r for r in rows if r[0]=="ko"]
R.shuffle(en); R.shuffle(ko)
allr=en+ko
with open("posts.tsv","w",encoding="utf-8") as f:
    f.write("id\tlang\tservice\tis_complaint\tcategories\ttext\n")
    for i,r in enumerate(allr,1):
        f.write(f"p-{i:04d}\t{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\n")
with open("/tmp/complaints_plain_hard_ids.txt","w") as f:
    for i,r in enumerate(allr,1):
        if r[5]=="hard": f.write(f"p-{i:04d}\n")
print(len(allr), len(en), len(ko), sum(r[2] for r in allr), sum(r[5]=="hard" for r in allr))
