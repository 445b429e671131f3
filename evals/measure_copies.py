"""Measure the copy threshold of index/copies.py: how much of their word 5-grams two different
articles share, against a copy of one article saved another way or edited.

    .venv/bin/python evals/measure_copies.py [--external ../shared/external/squad2/corpus]

Different articles: every pair of the seeds (four articles on one topic) and of the external
corpus (16 Wikipedia articles; read from ../shared, CC BY-SA 4.0, only counted here). Copies of
each seed: the seed saved as a news-site page (tests/fixtures_formats.py), with one paragraph
cut, with half of it cut, with a wire header and credit line added, and with 2-20% of its words
replaced (seeded).
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.copies import containment, shingles  # noqa: E402
from index.corpus import read_corpus  # noqa: E402
from index.types import Document  # noqa: E402
from tests.fixtures_formats import news_page, seed_article  # noqa: E402


def _article(document: Document) -> frozenset[int]:
    return shingles(" ".join(document.text[s:e] for s, e in document.paragraphs))


def different(folder: Path) -> list[float]:
    documents, _ = read_corpus(folder)
    return sorted(containment(_article(a), _article(b)) for a, b in itertools.combinations(documents, 2))


def copies(seeds: Path, rng: random.Random) -> dict[str, list[float]]:
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in sorted(seeds.glob("*.txt")):
            article = seed_article(seed)
            paragraphs = list(article.paragraphs)
            base = shingles(" ".join(paragraphs))
            page = Path(tmp) / "page.html"
            page.write_text(news_page(article.text), encoding="utf-8")
            saved = _article(read_corpus(Path(tmp))[0][0])
            page.unlink()
            variants = {
                "saved as a news page": saved,
                "one paragraph cut": shingles(" ".join(paragraphs[:3] + paragraphs[4:])),
                "half cut": shingles(" ".join(paragraphs[: len(paragraphs) // 2])),
                "wire header and credit added": shingles(
                    "ISTANBUL (Wire) - " + " ".join(paragraphs) + " Reporting by A. Reporter; editing by B. Editor."
                ),
            }
            for rate in (0.02, 0.05, 0.10, 0.20):
                words = " ".join(paragraphs).split()
                edited = [w if rng.random() > rate else f"edited{i}" for i, w in enumerate(words)]
                variants[f"{rate:.0%} of words replaced"] = shingles(" ".join(edited))
            for name, variant in variants.items():
                rows.setdefault(name, []).append(containment(base, variant))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--external", type=Path, default=ROOT.parent / "shared" / "external" / "squad2" / "corpus")
    args = parser.parse_args()
    print("different articles (pairs, highest containment):")
    for name, folder in (("seeds", ROOT / "seeds"), ("external", args.external)):
        if folder.is_dir():
            values = different(folder)
            print(f"  {name:10s} {len(values):4d} pairs, max {values[-1]:.3f}")
    print("copies of each seed (containment per seed):")
    for name, values in copies(ROOT / "seeds", random.Random(7)).items():
        print(f"  {name:30s} " + " ".join(f"{v:.2f}" for v in values))


if __name__ == "__main__":
    main()
