"""Moments as people read them: on the shop's clock (``SHOP_TIMEZONE``), whoever reads.

Times are stored in UTC. Every time shown anywhere (the shopper's orders, the owner's
cards and histories, exports and their file names, notifications) goes through
:func:`shown`, so a shopper and the owner read the same order at the same hour.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

FULL = "%d.%m.%Y %H:%M"  # 25.11.2026 04:16
SHORT = "%d.%m %H:%M"  # 25.11 04:16, in histories
FILE_DATE = "%Y-%m-%d"  # 2026-11-25, in file names (sorted as text, they stay in order)


def shown(moment: datetime, zone: tzinfo, layout: str = FULL) -> str:
    """``moment`` on the clock of ``zone``, laid out as ``layout`` (one of the above)."""
    return moment.astimezone(zone).strftime(layout)
