"""The one notion of "word" every answer check uses: terms, figures, and what a question pins down.

All of it is built on `index.text.words` (NFKC, straight quotes, accents folded, lower case,
hyphenated words whole) so that the checks and the keyword index agree on what a word is:

- `terms(text)`: content words with plural, verb and -ly endings cut ("supported" meets
  "support", "gradually" meets "gradual", "Frenchmen" meets "Frenchman"; irregular forms such
  as "fought"/"fight" stay apart).
- `stated(text)` / `figures(text)`: the numbers a text states, with their magnitude where it has
  one ("54 billion", "74 percent"), in digits or words, wire-copy abbreviations included
  ("21 mln", "74 pct").
- `pins(question)`: what a question pins down, which the passage that answers it must contain:
  names (capitalized or all-capital words), figures and years, and quoted titles.
- `Vocabulary.of(text).count(pin)`: how often a text contains a pin, tolerant of the ways one name is
  written: possessives and plurals ("Erdogan's"), demonyms ("Turkish" / "Turkey"), one-letter
  typos in long names ("Northen" / "Northern"), acronyms ("EU" / "European Union"), and a
  government's seat for its capital or country ("the Kremlin" / "Moscow").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from index.keyword import tokenize
from index.text import STOPWORDS, canonical, fold, words


def terms(text: str) -> set[str]:
    """Content words, plural-stripped as for BM25, with verb endings and -ly cut too."""
    return {base(w) for w in tokenize(text)}


def base(word: str) -> str:
    # "-men" is the plural of "-man": "3,600 Frenchmen" answers "How many Frenchman ..."
    # (external set), as "women" does "woman". Not shorter words: "omen", "amen".
    if len(word) >= 5 and word.endswith("men"):
        return word[:-3] + "man"
    for suffix, keep in (("ing", 4), ("ed", 4), ("ly", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            word = word[: -len(suffix)]
            return word[:-1] if len(word) > 4 and word[-1] == word[-2] else word  # "planned" -> "plan"
    # "approve" meets "approved" (-> "approv"), "state" meets "stated".
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def with_parts(text: str) -> list[str]:
    """`words`, each hyphenated one followed by its parts: "a seven-layer protocol" -> a,
    seven-layer, seven, layer, protocol (so "seven layers" is said; external set)."""
    return [p for w in words(text) for p in ([w, *(q for q in re.split(r"[-']", w) if q)] if "-" in w else [w])]


# ---- figures -------------------------------------------------------------------------------

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(r"[^\W\d_]+")
SPELLED_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}  # fmt: skip

MAGNITUDES = ("thousand", "million", "billion", "trillion")  # words that scale the figure before them
# How each magnitude or share may be written; wire copy abbreviates ("21 mln dlrs", "74 pct").
_MAGNITUDE_FORMS = {
    "thousand": "thousand", "million": "million", "mln": "million", "mn": "million",
    "billion": "billion", "bln": "billion", "bn": "billion", "trillion": "trillion",
    "percent": "percent", "per cent": "percent", "pct": "percent", "%": "percent",
}  # fmt: skip
_FORMS = "|".join(
    sorted((re.escape(f).replace(r"\ ", r"\s*") for f in _MAGNITUDE_FORMS if f != "%"), key=len, reverse=True)
)
_MAGNITUDE = re.compile(rf"(\d+(?:\.\d+)?)\s*(%|\b(?:{_FORMS})\b)", re.IGNORECASE)


def _magnitudes(text: str) -> set[str]:
    """Figures with the magnitude after them: "54 billion", "54 percent" ("54 per cent", "54%", "54 pct")."""
    found = set()
    for number, unit in _MAGNITUDE.findall(_THOUSANDS.sub("", text)):
        unit = " ".join(unit.lower().split())
        found.add(f"{number} {_MAGNITUDE_FORMS.get(unit, 'percent' if unit.startswith('per') else unit)}")
    return found


def figures(text: str) -> set[str]:
    """The figures in a text: digit runs ("1,000" -> "1000", "3.5" -> "3", "5"), "one".."twenty",
    and figures with their magnitude ("54 billion"), so that either form can be looked up."""
    found = {n.lstrip("0") or "0" for n in _DIGITS.findall(_THOUSANDS.sub("", text))}
    spelled = (SPELLED_NUMBERS.get(w) for w in _LETTERS.findall(canonical(text)))  # "two-year" too
    return found | {n for n in spelled if n is not None} | _magnitudes(text)


def stated(text: str) -> set[str]:
    """The figures a sentence states: with their magnitude where it has one, so "about 54
    billion cubic meters" is not backed by a passage's "54 per cent"."""
    tagged = _magnitudes(text)
    bare = figures(text) - tagged
    for figure in tagged:  # "3.5 million" already says 3 and 5
        bare -= set(_DIGITS.findall(figure))
    return bare | tagged


# ---- what a question pins down -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pin:
    """Something a question pins down: as written in the question, and its kind."""

    text: str  # "New Paltz", "1690", "TRANSPAC", "The Great Game"
    kind: str  # "name" | "figure" | "title"
    parts: tuple[str, ...]  # the words (lower-cased, folded) that must all be found


# Tokens as written (case kept), for capitalization: "San Juan, CA" -> San, Juan, CA.
_TOKEN = re.compile(r"[^\W_]+(?:[.'\u2019\-][^\W_]+)*\.?", re.UNICODE)
_QUOTED = re.compile(r"[\"\u201c\u201d\u00ab\u00bb]([^\"\u201c\u201d\u00ab\u00bb]{2,80})[\"\u201c\u201d\u00ab\u00bb]")
# Capitalized for grammar, not because they name something: the question's opening word and
# these wherever they stand.
_NOT_NAMES = STOPWORDS | frozenset("i a an according".split())
# Opening words that take "'s" without naming anyone: "Let's", "Today's", "Everyone's".
_COMMON_OWNERS = frozenset(
    "let today yesterday tomorrow tonight everyone everybody someone somebody anyone anybody nobody "
    "one year week month day people world country nation".split()
)


def pins(question: str) -> tuple[Pin, ...]:
    """The names, figures and quoted titles of a question, in order, each once.

    "How far is New Paltz from New York?" -> New Paltz (name), New York (name);
    "Who described a steam turbine in 1690?" -> 1690 (figure). Consecutive capitalized words are
    one name; the first word of the question counts only when it is all capitals ("NATO ...") or
    a possessive ("Cavendish's Law ...").
    """
    found: list[Pin] = []
    for match in _QUOTED.finditer(question):
        parts = tuple(w for w in words(match.group(1)) if w not in STOPWORDS)
        if parts:
            found.append(Pin(match.group(1).strip(), "title", parts))
    rest = _QUOTED.sub(" ", question)
    name: list[str] = []

    def close() -> None:
        if name:
            parts = tuple(
                p
                for w in name
                for p in ([w.replace(".", "").lower()] if is_acronym(w) else _name_parts(w))
                if p not in STOPWORDS or is_acronym(w)
            )
            if parts:
                found.append(Pin(" ".join(name), "name", parts))
            name.clear()

    for position, match in enumerate(_TOKEN.finditer(rest)):
        token = match.group().rstrip(".") if not is_acronym(match.group()) else match.group()
        between = rest[match.start() - 2 : match.start()] if match.start() >= 2 else ""
        if any(c.isdigit() for c in token):
            close()
            found.append(Pin(token, "figure", tuple(sorted(figures(token)))))
            continue
        lower = fold(token.lower())
        capital = token[:1].isupper() and (lower not in _NOT_NAMES or is_acronym(token))
        # A possessive first word names someone: "Cavendish's Law of Gravitation states what?"
        possessive = re.search(r"['\u2019]s$", token) is not None and lower[:-2] not in _COMMON_OWNERS
        if capital and (position > 0 or is_acronym(token) or possessive):
            if "," in between or "(" in between:
                close()  # "San Juan, CA": two names
            name.append(token)
        else:
            close()
    close()
    unique: dict[tuple[str, tuple[str, ...]], Pin] = {}
    for pin in found:
        if pin.parts:
            unique.setdefault((pin.kind, pin.parts), pin)
    return tuple(unique.values())


_MONTHS = "january february march april may june july august september october november december".split()
# "Sept 1760" and "September 1760" name one month.
MONTH_ABBREVIATIONS = {m[:3]: m for m in _MONTHS} | {"sept": "september"}


def _name_parts(token: str) -> list[str]:
    """ "Erdogan-Putin" -> erdogan, putin; "Ankara's" -> ankara; "Sept." -> september."""
    parts = [p for w in words(token) for p in re.split(r"-", re.sub(r"'s$", "", w)) if p]
    return [MONTH_ABBREVIATIONS.get(p, p) for p in parts]


def is_acronym(token: str) -> bool:
    letters = token.replace(".", "")
    return len(letters) >= 2 and letters.isupper() and letters.isalpha()


# ---- finding a pin in a text ---------------------------------------------------------------

# Endings that turn a place into its people or adjective: "Turk-ey"/"Turk-ish", "Russia"/"Russia-n",
# "Brit-ain"/"Brit-ish", "Ukrain-e"/"Ukrain-ian". Both words must share a stem of 4+ letters.
_DEMONYM_ENDINGS = frozenset("'' e n a i y s an ian ish ese ey ia ic ain ese es ans ians".split()) | {""}
_FUNCTION_WORDS = frozenset("of the and for de la le du von van al".split())
# News names a government by its seat ("the Kremlin said", "the White House warned") where an
# article may write the capital or the country instead (this direction only). A question
# about "the Kremlin" over articles that say "Moscow" is not about a name no article uses
# (reference set: 3 of the 5 answerable questions the unknown-name rule refused). Not a list of
# one corpus: the seats of government that news writes in place of a country.
SEATS_OF_GOVERNMENT: dict[tuple[str, ...], tuple[str, ...]] = {
    ("kremlin",): ("moscow", "russia"),
    ("white", "house"): ("washington", "america"),
    ("downing", "street"): ("london", "britain"),
    ("elysee",): ("paris", "france", "french"),
    ("pentagon",): ("washington", "america"),
    ("zhongnanhai",): ("beijing", "china"),
}  # each found as any word is (demonyms: "Russian", "American", "British", "Chinese")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A text's words with their counts, ready for pin look-ups (build once per text)."""

    words: tuple[str, ...]  # in order, for acronyms
    counts: Counter[str]  # every word, and the parts of hyphenated ones ("1763-1775": 1763, 1775)
    stems: Counter[str]
    figures: Counter[str]

    @classmethod
    def of(cls, text: str) -> Vocabulary:
        found = words(text)
        parts = [p for w in found if "-" in w or "'" in w for p in re.split(r"[-']", w) if p]
        months = [MONTH_ABBREVIATIONS[w] for w in found if w in MONTH_ABBREVIATIONS]
        counts = Counter(found + parts + months)
        stems: Counter[str] = Counter()
        for word, n in counts.items():
            stems[_stem(word)] += n
        numbers: Counter[str] = Counter()
        for token in _DIGITS.findall(_THOUSANDS.sub("", text)):
            numbers[token.lstrip("0") or "0"] += 1
        for figure in figures(text):
            numbers[figure] = max(numbers[figure], 1)
        return cls(tuple(found), counts, stems, numbers)

    @classmethod
    def of_corpus(cls, terms: Iterable[str], texts: Iterable[str]) -> Vocabulary:
        """A whole corpus: its keyword index's terms, and its figures as its texts write them.
        The terms alone split "10,000" into "10" and "000", so "10000 horsepower" would be a
        figure no article gives (external set: "engines that could provide 10,000 hp")."""
        vocabulary = cls.of(" ".join(terms))
        for text in texts:
            for figure in figures(text):
                vocabulary.figures[figure] += 1
        return vocabulary

    def count(self, pin: Pin) -> int:
        """How often the pin occurs: the count of its rarest part (0 when a part is missing)."""
        if pin.kind == "figure":
            return min((self.figures[p] for p in pin.parts), default=0)
        if pin.kind == "name" and len(pin.parts) == 1 and is_acronym(pin.text) and _spells(pin.parts[0], self):
            return max(1, self.counts[pin.parts[0]])
        found = min((self._count_word(p) for p in pin.parts), default=0)
        if found == 0 and pin.kind == "name" and pin.parts in SEATS_OF_GOVERNMENT:
            return max(self._count_word(w) for w in SEATS_OF_GOVERNMENT[pin.parts])
        return found

    def _count_word(self, word: str) -> int:
        exact = max(self.counts[word], self.stems[_stem(word)])
        if exact or len(word) < 4:
            return exact
        return sum(
            n
            for other, n in self.counts.items()
            if other[:1] == word[:1]
            and abs(len(other) - len(word)) <= 4
            and (_same_place(word, other) or (min(len(word), len(other)) >= 6 and _one_edit(word, other)))
        )


def same_word(a: str, b: str) -> bool:
    """Two folded words are one as a pin's parts match ("northen"/"northern", "turkish"/"turkey")."""
    return Vocabulary.of(b)._count_word(a) > 0


def _stem(word: str) -> str:
    return (tokenize(word) or [word])[0]


def _same_place(a: str, b: str) -> bool:
    """ "turkish" and "turkey": a shared stem of 4+ letters and demonym endings on both."""
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= 4 and a[common:] in _DEMONYM_ENDINGS and b[common:] in _DEMONYM_ENDINGS


def _one_edit(a: str, b: str) -> bool:
    """One letter inserted, deleted or changed: "northen" / "northern", "kllbrandon" / "kilbrandon"."""
    if a == b:
        return True
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def _spells(acronym: str, vocabulary: Vocabulary) -> bool:
    """ "eu" is spelled by "European Union", "nato" by "North Atlantic Treaty Organization"."""
    letters = acronym.replace(".", "")
    sequence = vocabulary.words
    for start in range(len(sequence)):
        if not sequence[start].startswith(letters[0]):
            continue
        i, j = start, 0
        while i < len(sequence) and j < len(letters):
            if sequence[i] in _FUNCTION_WORDS:
                i += 1
                continue
            if not sequence[i].startswith(letters[j]):
                break
            i, j = i + 1, j + 1
        if j == len(letters):
            return True
    return False


class PinCounts(Protocol):
    """Anything that says how often a pin occurs: a `Vocabulary`, or a corpus's `CorpusWords`."""

    def count(self, pin: Pin) -> int: ...


class CorpusWords:
    """A whole corpus's words, for the question's names that no article uses: the indexed text
    first (`Vocabulary.of_corpus`), then, only for a pin that has none of it, what the cleaner left
    out of the same files (`left_out`, read on first need). A user's file names its publication in
    its page furniture ("Invest in yourself by investing in KJ Report's"), and "according to the KJ
    Report article" asks about that article, not about something the folder lacks. The left-out
    text stays out of search and quotes; it only keeps such a name from being called unknown."""

    def __init__(self, indexed: Vocabulary, left_out: Callable[[], str]) -> None:
        self.indexed = indexed
        self._read_left_out = left_out
        self._left_out: Vocabulary | None = None

    def count(self, pin: Pin) -> int:
        found = self.indexed.count(pin)
        if found:
            return found
        if self._left_out is None:
            self._left_out = Vocabulary.of(self._read_left_out())
        return self._left_out.count(pin)
