#!/usr/bin/env python3
"""Build posts.tsv from src/*.txt (lang|service|label|cats|text), seeded shuffle, ids h8-NNNN.
Then check every row and print counts. Usage: python3 build.py [--check-only]"""
import glob, os, random, sys, collections
HERE = os.path.dirname(os.path.abspath(__file__))
CATS = ["outage", "login", "payment", "crash", "slow", "bug", "data_loss", "update"]
SERVICES = {"shop", "payly", "streamio", "toktok", "ridego", "bankit", "raidzone", "syncbox", "none"}
HEADER = "id\tlang\tservice\tis_complaint\tcategories\ttext"

def load_src():
    rows = []
    for fn in sorted(glob.glob(os.path.join(HERE, "src", "*.txt"))):
        for n, line in enumerate(open(fn, encoding="utf-8"), 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split("|", 4)
            assert len(parts) == 5, (fn, n, line)
            rows.append(parts)
    return rows

def build():
    rows = load_src()
    en = [r for r in rows if r[0] == "en"]
    ko = [r for r in rows if r[0] == "ko"]
    rnd = random.Random(8008)
    rnd.shuffle(en); rnd.shuffle(ko)
    out = [HEADER]
    for i, r in enumerate(en + ko, 1):
        out.append("\t".join([f"h8-{i:04d}"] + r))
    with open(os.path.join(HERE, "posts.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")

def check():
    raw = open(os.path.join(HERE, "posts.tsv"), "rb").read()
    text = raw.decode("utf-8")  # raises if not valid UTF-8
    lines = text.split("\n")
    assert lines[-1] == "", "file must end with newline"
    lines = lines[:-1]
    assert lines[0] == HEADER, "bad header"
    ids, texts, errs = set(), set(), []
    data = []
    for n, line in enumerate(lines[1:], 2):
        f = line.split("\t")
        if len(f) != 6:
            errs.append((n, "fields", len(f))); continue
        id_, lang, svc, lab, cats, txt = f
        if not id_.startswith("h8-") or len(id_) != 7 or not id_[3:].isdigit(): errs.append((n, "id", id_))
        if id_ in ids: errs.append((n, "dup id", id_))
        ids.add(id_)
        key = txt.strip().lower()
        if key in texts: errs.append((n, "dup text", txt))
        texts.add(key)
        if not txt.strip(): errs.append((n, "empty text"))
        if "\r" in txt: errs.append((n, "CR"))
        if lang not in ("en", "ko"): errs.append((n, "lang", lang))
        if svc not in SERVICES: errs.append((n, "service", svc))
        if lab not in ("0", "1"): errs.append((n, "label", lab))
        cl = cats.split(",") if cats else []
        if lab == "0" and cl: errs.append((n, "cats on 0", cats))
        if lab == "1" and not cl: errs.append((n, "no cats on 1"))
        if any(c not in CATS for c in cl): errs.append((n, "unknown cat", cats))
        if cl != sorted(cl, key=lambda c: CATS.index(c) if c in CATS else 99) or len(set(cl)) != len(cl):
            errs.append((n, "cat order/dup", cats))
        has_hangul = any("\uac00" <= ch <= "\ud7a3" or "\u3131" <= ch <= "\u318e" for ch in txt)
        if lang == "ko" and not has_hangul: errs.append((n, "ko without hangul", txt))
        data.append((lang, svc, lab, cl, txt))
    for e in errs: print("ERROR", e)
    return data, errs

def counts(data):
    L = ["en", "ko"]
    print(f"| | en | ko | all |\n|---|---:|---:|---:|")
    tot = collections.Counter(d[0] for d in data)
    c1 = collections.Counter(d[0] for d in data if d[2] == "1")
    print(f"| posts | {tot['en']} | {tot['ko']} | {len(data)} |")
    a1 = sum(c1.values())
    print(f"| complaints (1) | {c1['en']} | {c1['ko']} | {a1} ({100*a1/len(data):.1f}%) |")
    print(f"| not complaints (0) | {tot['en']-c1['en']} | {tot['ko']-c1['ko']} | {len(data)-a1} |")
    print("\n| category | en | ko | all |\n|---|---:|---:|---:|")
    for c in CATS:
        e = sum(1 for d in data if d[0] == "en" and c in d[3]); k = sum(1 for d in data if d[0] == "ko" and c in d[3])
        print(f"| {c} | {e} | {k} | {e+k} |")
    multi = sum(1 for d in data if len(d[3]) > 1)
    print(f"\nComplaint rows with more than one category: {multi}")
    print("\n| service | en (complaints) | ko (complaints) | all |\n|---|---:|---:|---:|")
    svcs = collections.Counter(d[1] for d in data)
    for s, _ in svcs.most_common():
        cell = []
        for l in L:
            n = sum(1 for d in data if d[1] == s and d[0] == l); k = sum(1 for d in data if d[1] == s and d[0] == l and d[2] == "1")
            cell.append(f"{n} ({k})")
        print(f"| {s} | {cell[0]} | {cell[1]} | {svcs[s]} |")
    print(f"\nLongest text: {max(len(d[4]) for d in data)} characters; shortest: {min(len(d[4]) for d in data)}")

if __name__ == "__main__":
    if "--check-only" not in sys.argv:
        build()
    data, errs = check()
    counts(data)
    sys.exit(1 if errs else 0)
