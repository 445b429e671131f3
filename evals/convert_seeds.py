"""The seed articles as a user might keep them: saved news-site pages or PDFs, for an evaluation
of the conversion (issue 18: the same retrieval and answers as from the `.txt` seeds).

    .venv/bin/python evals/convert_seeds.py OUT_DIR --kind html|pdf
    .venv/bin/seedqa eval evals/questions.jsonl --corpus OUT_DIR --report OUT_DIR-report

Each page carries the furniture of a real news site (menus, cookie banner, ads, share and
comment widgets, related headlines); each PDF has a running header and page numbers. The
builders are the test fixtures (tests/fixtures_formats.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures_formats import convert_seeds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--kind", choices=("html", "pdf"), required=True)
    args = parser.parse_args()
    for path in convert_seeds(args.out, args.kind):
        print(path)


if __name__ == "__main__":
    main()
