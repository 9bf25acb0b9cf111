#!/usr/bin/env python3
"""Check posts.tsv and print counts (markdown)."""
import os, collections
P = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'posts.tsv')
CATS = ['outage','login','payment','crash','slow','bug','data_loss','update']
raw = open(P, 'rb').read(); raw.decode('utf-8')
lines = raw.decode('utf-8').split('\n')
assert lines[-1] == ''; lines = lines[:-1]
assert lines[0] == 'id\tlang\tservice\tis_complaint\tcategories\ttext'
rows = []
ids = set()
for l in lines[1:]:
    f = l.split('\t'); assert len(f) == 6, l
    i, lang, svc, lab, cats, text = f
    assert i not in ids; ids.add(i)
    assert lang in ('en','ko') and lab in ('0','1') and '\r' not in l and text.strip()
    cl = [c for c in cats.split(',') if c]
    assert all(c in CATS for c in cl) and cl == sorted(cl, key=CATS.index)
    assert (lab == '1') == bool(cl), l
    rows.append((lang, svc, lab, cl, text))
L = ('en','ko')
n = collections.Counter(r[0] for r in rows)
c1 = collections.Counter(r[0] for r in rows if r[2]=='1')
tot = len(rows); t1 = sum(c1.values())
print('| | en | ko | all |\n|---|---:|---:|---:|')
print('| posts | %d | %d | %d |' % (n['en'], n['ko'], tot))
print('| complaints (1) | %d | %d | %d (%.1f%%) |' % (c1['en'], c1['ko'], t1, 100*t1/tot))
print('| not complaints (0) | %d | %d | %d |' % (n['en']-c1['en'], n['ko']-c1['ko'], tot-t1))
print()
print('| category | en | ko | all |\n|---|---:|---:|---:|')
for c in CATS:
    a = collections.Counter(r[0] for r in rows if c in r[3])
    print('| %s | %d | %d | %d |' % (c, a['en'], a['ko'], a['en']+a['ko']))
multi = sum(1 for r in rows if len(r[3]) > 1)
print('\nrows with 2+ categories: %d\n' % multi)
print('| service | en | ko | all |\n|---|---:|---:|---:|')
svcs = collections.Counter(r[1] for r in rows)
for s, _ in svcs.most_common():
    a = collections.Counter(r[0] for r in rows if r[1]==s)
    b = collections.Counter(r[0] for r in rows if r[1]==s and r[2]=='1')
    print('| %s | %d (%d) | %d (%d) | %d |' % (s, a['en'], b['en'], a['ko'], b['ko'], a['en']+a['ko']))
print('\nlongest text: %d chars' % max(len(r[4]) for r in rows))
