"""JSON from outside the process (webhook bodies, API answers, the demo page's requests).

``json.loads`` gives up on nesting past the interpreter's recursion limit with a
``RecursionError``, which handlers expecting ``ValueError`` for a bad body let through (a
body of 50,000 ``[`` was a 500). Here it is one more malformed body.
"""

from __future__ import annotations

import json
from typing import Any


def loads(raw: str | bytes) -> Any:
    """``json.loads``; raises ``ValueError`` for anything it cannot parse, however deep."""
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
