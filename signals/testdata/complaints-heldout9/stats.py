#!/usr/bin/env python3
"""Check posts.tsv of this folder and print counts (markdown). Usage: python3 stats.py"""
import collections, os, sys
ORDER = ["outage", "login", "payment", "crash", "slow", "bug", "data_loss", "update"]
HDR = "id\tlang\tservice\tis_complaint\tcategories\ttext"
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "posts.tsv")
raw = open(path, "rb").read()
txt = raw.decode("utf-8")  # raises on invalid UTF-8
lines = txt.split("\n")
assert lines[-1] == "", "file must end with newline"
lines = lines[:-1]
assert lines[0] == HDR, "bad header"
ids, texts, rows, errs = set(), set(), [], []
for n, l in enumerate(lines[1:], 2):
    f = l.split("\t")
    if len(f) != 6: errs.append((n, "fields", len(f))); continue
    i, lang, svc, lab, cats, text = f
    if i in ids: errs.append((n, "dup id", i))
    ids.add(i)
    if text in texts: errs.append((n, "dup text", text))
    texts.add(text)
    if lang not in ("en", "ko"): errs.append((n, "lang", lang))
    if lab not in ("0", "1"): errs.append((n, "label", lab))
    cl = cats.split(",") if cats else []
    if lab == "0" and cl: errs.append((n, "cats on 0", cats))
    if lab == "1" and not cl: errs.append((n, "no cats on 1"))
    if any(c not in ORDER for c in cl): errs.append((n, "bad cat", cats))
    elif cl != sorted(cl, key=ORDER.index) or len(set(cl)) != len(cl): errs.append((n, "cat order", cats))
    if not text.strip() or text != text.strip() or "\r" in text: errs.append((n, "text ws"))
    rows.append((i, lang, svc, lab, cl, text))
for e in errs: print("ERROR", e)
if errs: sys.exit(1)
L = ["en", "ko"]
def cnt(pred):
    c = [sum(1 for r in rows if r[1] == lg and pred(r)) for lg in L]
    return c + [sum(c)]
print(f"rows {len(rows)}, all checks passed (6 fields, UTF-8, unique ids+texts, labels 0/1, categories valid/ordered/only on 1)\n")
print("| | en | ko | all |\n|---|---:|---:|---:|")
p = cnt(lambda r: True); c1 = cnt(lambda r: r[3] == "1"); c0 = cnt(lambda r: r[3] == "0")
print(f"| posts | {p[0]} ({100*p[0]/p[2]:.1f}%) | {p[1]} ({100*p[1]/p[2]:.1f}%) | {p[2]} |")
print(f"| complaints (1) | {c1[0]} | {c1[1]} | {c1[2]} ({100*c1[2]/p[2]:.1f}%) |")
print(f"| not complaints (0) | {c0[0]} | {c0[1]} | {c0[2]} |\n")
print("| category | en | ko | all |\n|---|---:|---:|---:|")
for c in ORDER:
    x = cnt(lambda r: c in r[4]); print(f"| {c} | {x[0]} | {x[1]} | {x[2]} |")
multi = sum(1 for r in rows if len(r[4]) > 1)
print(f"\ncomplaint rows with 2+ categories: {multi}\n")
print("| service | en | ko | all | complaints |\n|---|---:|---:|---:|---:|")
for s, _ in collections.Counter(r[2] for r in rows).most_common():
    x = cnt(lambda r: r[2] == s); y = cnt(lambda r: r[2] == s and r[3] == "1")
    print(f"| {s} | {x[0]} | {x[1]} | {x[2]} | {y[2]} |")
print(f"\nlongest text: {max(len(r[5]) for r in rows)} chars")
