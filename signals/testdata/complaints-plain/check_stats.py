#!/usr/bin/env python3
"""Validate posts.tsv against RULES.md format and print counts (markdown)."""
import collections, sys
ORDER = "outage,login,payment,crash,slow,bug,data_loss,update".split(",")
SERVICES = {"shop","payly","streamio","toktok","ridego","bankit","raidzone","none"}
raw = open("posts.tsv","rb").read()
text = raw.decode("utf-8")  # raises if not valid UTF-8
lines = text.split("\n")
assert lines[-1] == "", "file must end with newline"
lines = lines[:-1]
assert lines[0] == "id\tlang\tservice\tis_complaint\tcategories\ttext", lines[0]
ids, texts, errs = set(), set(), []
rows = []
for n, l in enumerate(lines[1:], 2):
    f = l.split("\t")
    if len(f) != 6: errs.append((n,"fields",len(f))); continue
    i, lang, sv, lab, cats, t = f
    if i in ids: errs.append((n,"dup id",i))
    ids.add(i)
    if i != f"p-{n-1:04d}": errs.append((n,"id seq",i))
    if t in texts: errs.append((n,"dup text",t))
    texts.add(t)
    if not t.strip() or "\r" in t: errs.append((n,"text",t))
    if lang not in ("en","ko"): errs.append((n,"lang",lang))
    if sv not in SERVICES: errs.append((n,"service",sv))
    if lab not in ("0","1"): errs.append((n,"label",lab))
    cl = cats.split(",") if cats else []
    if lab == "0" and cl: errs.append((n,"cats on 0",cats))
    if lab == "1" and not cl: errs.append((n,"no cats on 1"))
    if any(c not in ORDER for c in cl): errs.append((n,"bad cat",cats))
    elif cl != sorted(cl, key=ORDER.index) or len(set(cl)) != len(cl): errs.append((n,"cat order",cats))
    if sv == "none" and lab == "1": errs.append((n,"complaint about none"))
    rows.append((lang, sv, int(lab), cl, t))
if errs:
    for e in errs[:50]: print("ERROR", e)
    sys.exit(1)
print(f"OK: {len(rows)} rows, 6 fields each, valid UTF-8, unique ids/texts, labels 0/1, categories valid\n")
L = ("en","ko")
def tab(title, keys, fn):
    print(f"| {title} | en | ko | all |\n|---|---:|---:|---:|")
    for k in keys:
        c = [fn(k, l) for l in L]; print(f"| {k} | {c[0]} | {c[1]} | {sum(c)} |")
    print()
tab("posts", ["posts","complaints (1)","not complaints (0)"], lambda k,l: sum(1 for r in rows if r[0]==l and (k=="posts" or r[2]==(1 if k.startswith("complaints") else 0))))
tab("category", ORDER, lambda k,l: sum(1 for r in rows if r[0]==l and k in r[3]))
svs = sorted(SERVICES, key=lambda s: -sum(1 for r in rows if r[1]==s))
print("| service | en | ko | all | complaints |\n|---|---:|---:|---:|---:|")
for s in svs:
    c = [sum(1 for r in rows if r[0]==l and r[1]==s) for l in L]
    print(f"| {s} | {c[0]} | {c[1]} | {sum(c)} | {sum(r[2] for r in rows if r[1]==s)} |")
print()
multi = sum(1 for r in rows if len(r[3])>1)
words = sorted(len(r[4].split()) for r in rows)
short = sum(1 for r in rows if 3 <= len(r[4].split()) <= 12)
print(f"complaint share: {sum(r[2] for r in rows)/len(rows):.1%}; rows with 2 categories: {multi}; "
      f"rows with 3-12 words: {short} ({short/len(rows):.0%}); median words: {words[len(words)//2]}; "
      f"longest text: {max(len(r[4]) for r in rows)} chars")
