"""Retake the screenshots in ``docs/screenshots/`` from the browser tests' run of the demo.

Run from the repository root: ``.venv/bin/python docs/make_screenshots.py``. Needs what
the browser tests need (``apt-get install -y chromium chromium-driver``), plus
``fonts-noto-color-emoji`` so the bot's emoji show.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


def main() -> int:
    env = {**os.environ, "SHOPBOT_SCREENSHOTS": str(SCREENSHOTS)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "tests/browser/test_demo.py",
        "tests/browser/test_miniapp.py",
        "tests/browser/test_demo_mailing.py",
    ]
    result = subprocess.run(command, env=env, check=False)
    if result.returncode == 0:
        print(f"screenshots saved in {SCREENSHOTS}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
