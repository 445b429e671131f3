"""The model reads its answer back against the quoted words: does the text state it?

A near miss is answered with a sentence that is in the passage but answers another question:
"Who described a steam turbine in 1690?" -> "Taqi al-Din described a steam turbine device in
1551". Word overlap cannot tell; a reader can. So after the answer is written, the same local
model is shown only the supporting words (the quotes the support check found), the question
and the answer, and asked whether the text states this answer to this exact question. Its
probability of "yes" against "no", from one forward pass over a short prompt (~150 tokens),
is a signal of the calibrated confidence check (chat/checks/confidence.py), not a check of its
own. Measured as a probe on the external set's recorded answers before it was built: it
separates right from wrong answers with AUC 0.82 (the best single signal; word coverage of
the question 0.69), and answerable from unanswerable questions with 0.77.
"""

from __future__ import annotations

from collections.abc import Callable

from chat.citations import strip_markers
from chat.types import SentenceSupport
from models.generator import Generator, Message

SYSTEM = "You check whether a text answers a question. Reply with one word: yes or no."


def evidence(sentences: tuple[SentenceSupport, ...], passage_texts: dict[int, str]) -> str:
    """The words the answer rests on: its supporting quotes, else its supporting passages."""
    quotes = [s.quote for s in sentences if s.supported and s.quote]
    if quotes:
        return " ".join(dict.fromkeys(quotes))
    cited = [n for s in sentences if s.supported for n in ([s.passage] if s.passage else [])]
    return " ".join(passage_texts[n] for n in dict.fromkeys(cited) if n in passage_texts)


def messages(text: str, question: str, answer: str) -> list[Message]:
    return [
        Message("system", SYSTEM),
        Message(
            "user",
            f"Text: {' '.join(text.split())}\n\nQuestion: {question}\nProposed answer: {strip_markers(answer)}\n\n"
            "Does the text state this answer to this exact question? Reply yes or no.",
        ),
    ]


Verifier = Callable[[str, str, str], float]  # (evidence, question, answer) -> P(yes)


def verifier(generator: Generator) -> Verifier:
    """P(yes) from the generator, for `chat.ask.check_answer`."""

    def verify(text: str, question: str, answer: str) -> float:
        return generator.choose(messages(text, question, answer), ("yes", "no"))[0]

    return verify
