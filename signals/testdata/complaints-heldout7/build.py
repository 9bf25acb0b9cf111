#!/usr/bin/env python3
"""Build posts.tsv from the hand-written drafts and check it.

Drafts: draft/<lang>_*.txt, one post a line: service|is_complaint|categories|text
Rows are shuffled within each language with a fixed seed (en first, then ko),
then numbered h7-0001... Run: python3 build.py   (writes posts.tsv, prints checks)
"""
import glob, os, random, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CATS = ["outage", "login", "payment", "crash", "slow", "bug", "data_loss", "update"]
SERVICES = {"shop", "payly", "streamio", "toktok", "ridego", "bankit", "raidzone", "cloudnest", "none"}

def load(lang):
    rows = []
    for path in sorted(glob.glob(os.path.join(HERE, "draft", lang + "_*.txt"))):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\n").strip()
                if not line:
                    continue
                parts = line.split("|", 3)
                if len(parts) != 4:
                    sys.exit(f"{path}:{n}: bad line")
                svc, lab, cats, text = (p.strip() for p in parts)
                rows.append((lang, svc, lab, cats, text, f"{os.path.basename(path)}:{n}"))
    return rows

def main():
    out = []
    for lang in ("en", "ko"):
        rows = load(lang)
        random.Random(7000 + len(lang)).shuffle(rows)
        out.extend(rows)
    errors = 0
    seen_text = {}
    lines = ["id\tlang\tservice\tis_complaint\tcategories\ttext"]
    for i, (lang, svc, lab, cats, text, where) in enumerate(out, 1):
        rid = f"h7-{i:04d}"
        def bad(msg):
            nonlocal errors
            errors += 1
            print(f"ERROR {where}: {msg}")
        if svc not in SERVICES: bad(f"service {svc}")
        if lab not in ("0", "1"): bad(f"label {lab}")
        cl = [c for c in cats.split(",") if c] if cats else []
        if lab == "0" and cl: bad("categories on a non-complaint")
        if lab == "1" and not cl: bad("complaint without category")
        if any(c not in CATS for c in cl): bad(f"unknown category {cats}")
        if cl != sorted(cl, key=CATS.index) if all(c in CATS for c in cl) else False: bad(f"order {cats}")
        if len(set(cl)) != len(cl): bad("duplicate category")
        if "\t" in text or not text: bad("tab or empty text")
        if text in seen_text: bad(f"duplicate text of {seen_text[text]}")
        seen_text[text] = where
        lines.append("\t".join([rid, lang, svc, lab, cats, text]))
    with open(os.path.join(HERE, "posts.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)-1} rows, {errors} errors")
    sys.exit(1 if errors else 0)

if __name__ == "__main__":
    main()
