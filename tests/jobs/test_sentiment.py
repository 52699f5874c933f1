from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from jobs.sentiment import polarity


def test_it_scores_praise_above_zero_and_complaints_below() -> None:
    assert polarity("I love this team, the support is great") > 0.3
    assert polarity("The workload is terrible and the tools are awful") < -0.3
    assert polarity("   ") == 0.0


def test_it_works_without_any_nltk_corpora(tmp_path: Path) -> None:
    """A fresh process whose NLTK data path is an empty folder: sentiment must still work."""
    script = (
        "import nltk; nltk.data.path[:] = [];"
        "from jobs.sentiment import polarity;"
        "print(polarity('Great manager, really helpful'), polarity('This is a horrible process'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"NLTK_DATA": str(tmp_path), "PATH": ""},
        cwd=Path(__file__).resolve().parents[2],
    )
    positive, negative = map(float, result.stdout.split())
    assert positive > 0 > negative
