"""Experiment (not product code): quote-first answers, by monkeypatching the prompt and the checks.

Run from the repository root, as for this folder's results:
    .venv/bin/python evals/history/lever-quote-first/run.py eval evals/questions.jsonl --out R.jsonl --report DIR
"""

import re
import sys

sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parents[3]))
import chat.prompt as P
from models.generator import Message

REFUSAL = P.REFUSAL
P.SYSTEM = f"""You answer questions about news articles. You may use only the numbered passages in the user's message.
First copy, word for word, the one passage sentence that answers the question, after "Quote:" with its passage number.
Then give the answer after "Answer:" in one or two short sentences, with the passage number in brackets at the end of each, like [2].
If no passage sentence states the answer to the exact question asked, reply only: {REFUSAL}"""
P.REMINDER = (
    f"Quote the sentence that answers, then answer, citing like [1]. If no passage states the answer, reply: {REFUSAL}"
)
P.FORCED_REMINDER = "Quote the sentence that answers, then answer in one or two sentences, citing like [1]."
EX = P._EXAMPLE_PASSAGES
P.FEW_SHOT = (
    Message("user", P._user(EX, "When was the bridge approved and who pays for it?")),
    Message(
        "assistant",
        'Quote: [1] "The city council approved the new harbor bridge on 3 May 2018 after a two-year debate."\nAnswer: The council approved the bridge on 3 May 2018 [1]. The regional government pays most of its 40 million euro cost [2].',
    ),
    Message("user", P._user(EX, "How many workers were injured during construction?")),
    Message("assistant", REFUSAL),
)
P.PREFIX = (Message("system", P.SYSTEM), *P.FEW_SHOT)
import chat.app as A

A.PREFIX = P.PREFIX
import chat.ask as K

_orig = K.check_answer
MODE = __import__("os").environ.get("QUOTE_MODE", "quote")


def answer_part(raw):
    if "Answer:" in raw:
        return raw.split("Answer:", 1)[1].strip()
    m = re.match(r"\s*Quote:\s*(\[\d+\])?\s*(.*)", raw, re.S)
    if m:
        if MODE == "refuse":
            return REFUSAL
        body = m.group(2).strip().strip('"“”').strip()
        return f"{body} {m.group(1) or ''}".strip()
    return raw


def check_answer(raw, *a, **k):
    return _orig(answer_part(raw), *a, **k)


K.check_answer = check_answer
