"""Probe (not product code): retrieval ranks with the question expanded by its hypothetical answer.

Run from the repository root: .venv/bin/python evals/history/probe-hyde/ranks.py
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
from chat.app import build_embedder, index_dir
from chat.evaluate import load_questions
from chat.settings import Settings
from index.search import HybridSearcher
from index.store import ensure_index
from index.text import canonical

s = Settings.load(corpus=ROOT / "seeds")
e = build_embedder(s)
st = ensure_index(s.corpus, index_dir(s), e, s.chunking)
h = HybridSearcher(st, e)
N = len(st.chunks)
H = json.load(open(Path(__file__).with_name("hypothetical.json")))
qs = [q for q in load_questions(ROOT / "evals/questions.jsonl") if q.answerable and q.evidence]
relm = {
    q.id: {i for i in range(N) if any(canonical(ev) in canonical(st.chunks[i].text) for ev in q.evidence)} for q in qs
}


def lists(text, C=20):
    v = h._query_vector(text)
    return [i for i, _ in h._dense(v, C)], [i for i, _ in st.keyword.top(text, C)]


def rrf(ls, rk=60, ws=None):
    f = {}
    for j, l in enumerate(ls):
        for r, i in enumerate(l, 1):
            f[i] = f.get(i, 0) + (1 if ws is None else ws[j]) / (rk + r)
    return sorted(f, key=lambda i: -f[i])


cache = {}
for q in qs:
    cache[q.id] = (lists(q.question), lists(H[q.id]), lists(q.question + " " + H[q.id]))


def show(name, fn):
    ranks = {}
    for q in qs:
        order = fn(*cache[q.id])
        ranks[q.id] = next((r for r, i in enumerate(order[:10], 1) if i in relm[q.id]), None)
    n = len(qs)
    hs = [sum(1 for r in ranks.values() if r and r <= x) / n for x in (1, 3, 4)]
    print(
        f"{name:30s} h1 {hs[0]:.3f} h3 {hs[1]:.3f} h4 {hs[2]:.3f} miss>3 {' '.join(k for k, r in ranks.items() if not r or r > 3)}"
    )


show("current", lambda a, b, c: rrf([a[0], a[1]]))
show("concat both", lambda a, b, c: rrf([c[0], c[1]]))
show("dense concat, bm25 q", lambda a, b, c: rrf([c[0], a[1]]))
show("dense q, bm25 concat", lambda a, b, c: rrf([a[0], c[1]]))
show("4 lists q+h", lambda a, b, c: rrf([a[0], a[1], b[0], b[1]]))
show("4 lists q+h w.5 h", lambda a, b, c: rrf([a[0], a[1], b[0], b[1]], ws=[1, 1, 0.5, 0.5]))
show("3 lists q d,k + h d", lambda a, b, c: rrf([a[0], a[1], b[0]]))
show("3 lists q d,k + h k", lambda a, b, c: rrf([a[0], a[1], b[1]]))
show("4 lists q + concat", lambda a, b, c: rrf([a[0], a[1], c[0], c[1]]))
