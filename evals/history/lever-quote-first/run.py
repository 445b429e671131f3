"""Run the seedqa CLI with patch.py applied (see patch.py)."""

import runpy
import sys
from pathlib import Path

runpy.run_path(str(Path(__file__).with_name("patch.py")))
from chat.cli import main  # noqa: E402  (patch.py put the repository on sys.path)

sys.argv = ["seedqa", *sys.argv[1:]]
main()
