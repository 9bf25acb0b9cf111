"""Validate complaints-dev/posts.tsv and print the counts used in README.md.
Reads only posts.tsv next to this file. Usage: python3 counts.py"""
import collections, os, re, sys
CATS = ["outage", "login", "payment", "crash", "slow", "bug", "data_loss", "update"]
SERV = ["shop", "payly", "streamio", "toktok", "ridego", "bankit", "cloudbox", "eatnow", "none"]
# Problem-looking words, used only to count "hard negatives" (label 0 rows that contain them).
PROBLEM = re.compile(r"crash|down\b|error|50[0-9]|40[0-9]|broken|broke|refund|log ?in|logged|freez|lag|slow|buffer|"
                     r"declin|charg|fail|locked|timeout|timed out|bug|outage|not working|won't|maintenance|"
                     r"튕|먹통|오류|에러|결제|로그인|장애|터짐|터졌|렉|느림|느려|버퍼링|환불|점검|안됨|안돼|꺼짐|고장|끊김|로딩|인증",
                     re.I)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "posts.tsv")
raw = open(path, "rb").read()
raw.decode("utf-8")  # raises on invalid UTF-8
lines = raw.decode("utf-8").split("\n")
assert lines[-1] == "", "file must end with a newline"
lines = lines[:-1]
assert lines[0] == "id\tlang\tservice\tis_complaint\tcategories\ttext", lines[0]
ids, texts = set(), set()
posts = collections.Counter(); comp = collections.Counter(); cat = collections.Counter()
svc = collections.Counter(); svc1 = collections.Counter(); hard = collections.Counter(); multi = 0
for n, line in enumerate(lines[1:], 2):
    f = line.split("\t")
    assert len(f) == 6, (n, line)
    i, lang, s, lab, cats, text = f
    assert re.fullmatch(r"d-\d{4}", i) and i not in ids, (n, i); ids.add(i)
    assert lang in ("en", "ko") and s in SERV and lab in ("0", "1"), (n, line)
    assert text and text == text.strip() and "\r" not in text and text not in texts, (n, line); texts.add(text)
    cl = cats.split(",") if cats else []
    assert all(c in CATS for c in cl) and cl == sorted(cl, key=CATS.index) and len(set(cl)) == len(cl), (n, line)
    assert (lab == "1") == bool(cl), (n, line)
    posts[lang] += 1; svc[(s, lang)] += 1
    if lab == "1":
        comp[lang] += 1; svc1[(s, lang)] += 1; multi += len(cl) > 1
        for c in cl: cat[(c, lang)] += 1
    elif PROBLEM.search(text):
        hard[lang] += 1
tot = lambda c, k: c[(k, "en")] + c[(k, "ko")]
N = sum(posts.values()); C = sum(comp.values())
print("| | en | ko | all |\n|---|---:|---:|---:|")
print(f"| posts | {posts['en']} | {posts['ko']} | {N} |")
print(f"| complaints (1) | {comp['en']} | {comp['ko']} | {C} ({100*C/N:.1f}%) |")
print(f"| not complaints (0) | {posts['en']-comp['en']} | {posts['ko']-comp['ko']} | {N-C} |")
print(f"| hard negatives (0 with a problem word) | {hard['en']} | {hard['ko']} | {sum(hard.values())} |")
print(f"\nComplaints with more than one category: {multi}\n")
print("| category | en | ko | all |\n|---|---:|---:|---:|")
for c in CATS: print(f"| {c} | {cat[(c,'en')]} | {cat[(c,'ko')]} | {tot(cat, c)} |")
print("\n| service | en | ko | all |\n|---|---:|---:|---:|")
for s in SERV:
    print(f"| {s} | {svc[(s,'en')]} ({svc1[(s,'en')]}) | {svc[(s,'ko')]} ({svc1[(s,'ko')]}) | {tot(svc, s)} ({tot(svc1, s)}) |")
