"""Rewrite a follow-up question ("and what did Russia do then?") into a standalone one.

Retrieval sees one question at a time, so "he", "they" or "then" must be replaced by what
they refer to before searching. The model rewrites the question from the last turns of the
conversation. A first question, or one with nothing to resolve (no pronoun, no "and ..." or
"what about ...", more than a word or two), is used as is: a rewrite costs a model call and,
on llama.cpp, the cached prompt prefix of the answer (~20 s on a busy 2-core machine). An
unusable rewrite (empty, rambling) falls back to the original question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.text import content_words
from models.generator import Generator, Message

MAX_TURNS = 2  # the last two question/answer pairs are enough to resolve "he" or "then"
MAX_ANSWER_CHARS = 400  # ~100 tokens of each previous answer keeps the prompt short
MAX_TOKENS = 60  # a standalone question is one sentence (~20-40 tokens)

SYSTEM = (
    "You rewrite the user's follow-up question into one standalone question that can be "
    "understood without the conversation. Replace pronouns and vague references (he, she, "
    "they, it, that, then, there) with the names, places and times they refer to. Keep the "
    "question short and do not answer it. If the question is already standalone, repeat it "
    "unchanged. Reply with the question only."
)

# Two worked examples fix the format and show a pronoun and a "then" being resolved (a 1.5B
# model otherwise answers the question, or only drops the "and").
FEW_SHOT: tuple[Message, ...] = (
    Message(
        "user",
        "Conversation:\nQuestion: When did the city approve the harbor bridge?\n"
        "Answer: The city council approved the harbor bridge on 3 May 2018.\n\n"
        "Follow-up question: and who pays for it?",
    ),
    Message("assistant", "Who pays for the harbor bridge?"),
    Message(
        "user",
        "Conversation:\nQuestion: What happened to the museum in 2019?\n"
        "Answer: A fire destroyed the museum's east wing in June 2019.\n\n"
        "Follow-up question: what did the mayor do then?",
    ),
    Message("assistant", "What did the mayor do after the fire destroyed the museum's east wing in June 2019?"),
)

_MARKERS = re.compile(r"\s*\[\d+\]")
# Words that point back into the conversation: "what did he do then?", "and the others?"
_REFERRING = frozenset(
    "he him his she her hers they them their theirs it its this that these those then there here "
    "such same other others former latter next".split()
)
_CONTINUING = re.compile(r"^(?:and|but|so|also|or|then|what about|how about)\b", re.IGNORECASE)
_PREFIX = re.compile(r"^(?:standalone|rewritten)?\s*(?:question|follow-up question)\s*:\s*", re.IGNORECASE)


def build_messages(history: Sequence[tuple[str, str]], question: str) -> list[Message]:
    """The rewriting prompt: instructions, two examples, then the last turns and the question."""
    lines = []
    for asked, answered in history[-MAX_TURNS:]:
        answer = " ".join(_MARKERS.sub("", answered).split())
        if len(answer) > MAX_ANSWER_CHARS:
            answer = answer[:MAX_ANSWER_CHARS].rsplit(" ", 1)[0] + " ..."
        lines.append(f"Question: {' '.join(asked.split())}\nAnswer: {answer}")
    conversation = "\n".join(lines)
    return [
        Message("system", SYSTEM),
        *FEW_SHOT,
        Message("user", f"Conversation:\n{conversation}\n\nFollow-up question: {question}"),
    ]


def clean_rewrite(output: str, question: str) -> str:
    """The first line of the model's reply, without quotes or labels; `question` if unusable."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return question
    rewrite = _PREFIX.sub("", lines[0]).strip().strip("\"'`“”").strip()
    rewrite = " ".join(_MARKERS.sub("", rewrite).split())
    # A rewrite adds the names it resolves, so it may be longer, but not a paragraph.
    if len(rewrite) < 3 or len(rewrite) > max(200, 3 * len(question)):
        return question
    return rewrite


def needs_context(question: str) -> bool:
    """The question refers back to the conversation, or is too short to stand alone."""
    words = re.findall(r"[^\W\d_]+", question.lower())
    return (
        bool(_CONTINUING.match(question.strip()))
        or any(w in _REFERRING for w in words)
        or len(content_words(question)) < 2
    )


def rewrite_question(generator: Generator, history: Sequence[tuple[str, str]], question: str) -> str:
    """A standalone version of `question` given earlier (question, answer) turns.

    With no history, or nothing to resolve, the question is returned unchanged without a
    model call.
    """
    question = " ".join(question.split())
    if not history or not question or not needs_context(question):
        return question
    generation = generator.stream(build_messages(history, question), max_tokens=MAX_TOKENS, stop=("\n\n",))
    return clean_rewrite("".join(generation), question)
