"""Probe (not product code): one hypothetical answer per reference question from the local LLM.

Run from the repository root: .venv/bin/python evals/history/probe-hyde/generate.py
Writes hypothetical.json next to this file (the committed copy is the one measured).
"""

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
from chat.app import build_pipeline
from chat.evaluate import load_questions
from chat.settings import Settings
from models.generator import Message

s = Settings.load(corpus=ROOT / "seeds")
p = build_pipeline(s, notify=lambda m: None)
h = p.searcher
st = h.store
N = len(st.chunks)
qs = [q for q in load_questions(ROOT / "evals/questions.jsonl")]
SYS = "Write one short sentence, as a news report would, that answers the question. Use the usual names and terms for things. If you do not know, guess plausibly."
out = {}
t0 = time.time()
for q in qs:
    raw = "".join(p.generator.stream([Message("system", SYS), Message("user", q.question)], max_tokens=48)).strip()
    out[q.id] = raw
print("gen s/q", (time.time() - t0) / len(qs))
json.dump(out, open(Path(__file__).with_name("hypothetical.json"), "w"), indent=1)
