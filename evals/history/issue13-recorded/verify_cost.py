"""What the model's reading of its own answer costs: ask() with and without it, interleaved.

    HF_HUB_OFFLINE=1 .venv/bin/python evals/history/issue13-recorded/verify_cost.py [N]

Prints the median time to first token and total per arm and their ratios (same machine, same
run, arms alternating, so machine load hits both alike).
"""

import statistics
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from chat.app import build_pipeline  # noqa: E402
from chat.evaluate import load_questions  # noqa: E402
from chat.settings import Settings  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
settings = Settings.load()
pipeline = build_pipeline(settings)
questions = [q.question for q in load_questions(Path("evals/questions.jsonl")) if q.answerable][:n]
pipeline.ask(questions[0])  # warm
times = {True: [], False: []}
for question in questions:
    for verify in (True, False):
        pipeline.answering = replace(pipeline.answering, verify=verify)
        answer = pipeline.ask(question)
        times[verify].append((answer.timings.ttft_s, answer.timings.total_s))
for verify in (True, False):
    ttft = statistics.median(t for t, _ in times[verify])
    total = statistics.median(t for _, t in times[verify])
    print(f"verify={verify!s:5}  ttft median {ttft:.2f} s  total median {total:.2f} s  ({len(times[verify])} questions)")
on = [b - a for (_, a), (_, b) in zip(times[False], times[True], strict=True)]
print(f"total with - without, per question: median {statistics.median(on):+.2f} s")
ratio_ttft = statistics.median(t for t, _ in times[True]) / statistics.median(t for t, _ in times[False])
ratio_total = statistics.median(t for _, t in times[True]) / statistics.median(t for _, t in times[False])
print(f"ratios with/without: ttft {ratio_ttft:.3f}, total {ratio_total:.3f}")
