#!/usr/bin/env python3
"""Format check for posts.tsv: python3 check.py [posts.tsv]. Exit 1 on any error."""
import os, re, sys
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "posts.tsv")
CATS = ["outage", "login", "payment", "crash", "slow", "bug", "data_loss", "update"]
SERVICES = {"shop", "payly", "streamio", "toktok", "ridego", "bankit", "raidzone", "cloudnest", "none"}
HEADER = ["id", "lang", "service", "is_complaint", "categories", "text"]
raw = open(path, "rb").read()
errors = []
try:
    data = raw.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit(f"not valid UTF-8: {e}")
if "\r" in data: errors.append("CR characters present")
if not data.endswith("\n"): errors.append("no final newline")
lines = data.split("\n")[:-1]
if lines[0].split("\t") != HEADER: errors.append(f"bad header: {lines[0]!r}")
ids, texts = set(), set()
for n, line in enumerate(lines[1:], 2):
    f = line.split("\t")
    if len(f) != 6:
        errors.append(f"line {n}: {len(f)} fields"); continue
    rid, lang, svc, lab, cats, text = f
    if not re.fullmatch(r"h7-\d{4}", rid): errors.append(f"line {n}: id {rid}")
    if rid in ids: errors.append(f"line {n}: duplicate id {rid}")
    ids.add(rid)
    if lang not in ("en", "ko"): errors.append(f"line {n}: lang {lang}")
    if svc not in SERVICES: errors.append(f"line {n}: service {svc}")
    if lab not in ("0", "1"): errors.append(f"line {n}: label {lab}")
    cl = cats.split(",") if cats else []
    if lab == "0" and cl: errors.append(f"line {n}: categories on a 0 row")
    if lab == "1" and not cl: errors.append(f"line {n}: complaint without category")
    if any(c not in CATS for c in cl): errors.append(f"line {n}: unknown category {cats}")
    elif cl != sorted(set(cl), key=CATS.index): errors.append(f"line {n}: order/duplicate {cats}")
    if not text.strip() or text != text.strip(): errors.append(f"line {n}: empty or padded text")
    if text in texts: errors.append(f"line {n}: duplicate text")
    texts.add(text)
    if lang == "ko" and not re.search(r"[\uac00-\ud7a3\u3131-\u318e]", text): errors.append(f"line {n}: ko row without Hangul")
    if lang == "en" and len(re.findall(r"[\uac00-\ud7a3]", text)) > 6: errors.append(f"line {n}: en row mostly Hangul?")
for e in errors: print("ERROR", e)
print(f"{len(lines)-1} rows checked, {len(errors)} errors")
sys.exit(1 if errors else 0)
