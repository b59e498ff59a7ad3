"""The benchmarks still run (tiny sizes; their figures are for the README, not asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("SHOPBOT_TEST_DATABASE_URL")),
    reason="the benchmarks make SQLite databases of their own: once, in the SQLite pass",
)


@pytest.mark.parametrize(
    ("script", "arguments", "last_words"),
    [
        ("bot_bench.py", ["--closed-loop-only", "--shoppers", "4", "--actions", "6"], "the bench"),
        (
            "search_bench.py",
            ["--rows", "50", "--queries", "20"],
            "meaning vectors: 50 computed",
        ),
        ("meaning_bench.py", ["--rows", "200", "--words", "50", "--queries", "20"], "the three"),
        ("import_bench.py", ["--rows", "200", "--runs", "1"], "documents:"),
        ("fts_bench.py", ["--rows", "200"], "queries whose top 5 is not"),
        ("reminder_bench.py", ["--subscribers", "50"], "the next pass"),
        ("support_bench.py", ["--shoppers", "3", "--messages", "2"], "in the order sent: True"),
        ("variants_bench.py", ["--products", "50", "--favourites", "5"], "ratio:"),
        ("webapp_bench.py", ["--rows", "100", "--runs", "1", "--calls", "20"], "product API"),
        ("mailing_bench.py", ["--subscribers", "20", "--shoppers", "2", "--seconds", "1"], "429s"),
    ],
)
def test_a_benchmark_runs_to_its_figures(
    script: str, arguments: list[str], last_words: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SHOPBOT_TEST_DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert last_words in done.stdout, done.stdout
