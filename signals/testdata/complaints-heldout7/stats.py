#!/usr/bin/env python3
"""Counts for README.md: python3 stats.py [posts.tsv]  (prints markdown tables)."""
import sys, collections, os
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "posts.tsv")
CATS = ["outage", "login", "payment", "crash", "slow", "bug", "data_loss", "update"]
rows = []
with open(path, encoding="utf-8") as f:
    head = f.readline().rstrip("\n").split("\t")
    for line in f:
        rows.append(dict(zip(head, line.rstrip("\n").split("\t"))))
L = ["en", "ko"]
def cnt(pred):
    return [sum(1 for r in rows if r["lang"] == l and pred(r)) for l in L]
def row(name, c):
    return f"| {name} | " + " | ".join(str(x) for x in c) + f" | {sum(c)} |"
n = len(rows)
print("| | en | ko | all |\n|---|---:|---:|---:|")
print(row("posts", cnt(lambda r: True)))
c1 = cnt(lambda r: r["is_complaint"] == "1")
print(row("complaints (1)", c1).replace(f" {sum(c1)} |", f" {sum(c1)} ({100*sum(c1)/n:.1f}%) |"))
print(row("not complaints (0)", cnt(lambda r: r["is_complaint"] == "0")))
print(row("complaints with 2+ categories", cnt(lambda r: r["categories"].count(",") >= 1)))
print("\n| category | en | ko | all |\n|---|---:|---:|---:|")
for c in CATS:
    print(row(c, cnt(lambda r, c=c: c in r["categories"].split(","))))
print("\n| service | en | ko | all | complaints |\n|---|---:|---:|---:|---:|")
svcs = collections.Counter(r["service"] for r in rows)
for s, _ in svcs.most_common():
    c = cnt(lambda r, s=s: r["service"] == s)
    k = sum(1 for r in rows if r["service"] == s and r["is_complaint"] == "1")
    print(row(s, c) + f" {k} |")
lens = [len(r["text"]) for r in rows]
print(f"\ntext length: min {min(lens)}, max {max(lens)}, mean {sum(lens)/n:.0f} characters")
