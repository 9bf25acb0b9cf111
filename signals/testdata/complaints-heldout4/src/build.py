#!/usr/bin/env python3
"""Build posts.tsv from src/{en,ko}*.txt (service;label;cats;text), shuffle per language with a fixed seed."""
import glob, os, random, sys
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'posts.tsv')
CATS = ['outage','login','payment','crash','slow','bug','data_loss','update']
SERVICES = {'shop','payly','streamio','toktok','ridego','bankit','none','cloudbox','dishdash'}
rows = {'en': [], 'ko': []}
errs = []
for lang in ('en','ko'):
    for f in sorted(glob.glob(os.path.join(HERE, lang + '*.txt'))):
        for n, line in enumerate(open(f, encoding='utf-8'), 1):
            line = line.rstrip('\n')
            if not line.strip():
                continue
            svc, lab, cats, text = line.split(';', 3)
            cl = [c for c in cats.split(',') if c]
            if svc not in SERVICES: errs.append((f, n, 'service', svc))
            if lab not in ('0','1'): errs.append((f, n, 'label', lab))
            if any(c not in CATS for c in cl): errs.append((f, n, 'cat', cats))
            if (lab == '1') != bool(cl): errs.append((f, n, 'cats vs label', line))
            if '\t' in text or not text.strip(): errs.append((f, n, 'text', text))
            cl = sorted(cl, key=CATS.index)
            rows[lang].append((lang, svc, lab, ','.join(cl), text.strip()))
if errs:
    for e in errs: print('ERR', e)
    sys.exit(1)
seen = set()
for lang in rows:
    for r in rows[lang]:
        if r[4] in seen: print('DUP', r[4])
        seen.add(r[4])
rng = random.Random(20261207)
out = []
for lang in ('en','ko'):
    rr = rows[lang][:]
    rng.shuffle(rr)
    out += rr
with open(OUT, 'w', encoding='utf-8', newline='\n') as fh:
    fh.write('id\tlang\tservice\tis_complaint\tcategories\ttext\n')
    for i, r in enumerate(out, 1):
        fh.write('h4-%04d\t%s\n' % (i, '\t'.join(r)))
print('wrote', len(out))
