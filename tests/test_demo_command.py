"""``shopbot demo --keep`` as a real process: the second start goes on with the first's shop."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sqlite3
import sys
from pathlib import Path

BANNER = "shopbot demo is running"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _run_demo_until_banner(workdir: Path, *options: str) -> str:
    """Start ``shopbot demo``, wait for its banner, stop it with Ctrl-C; its whole output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shopbot",
        "demo",
        "--port",
        str(_free_port()),
        *options,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while not any(BANNER in line for line in lines):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=180)
            assert line, "\n".join(lines)
            lines.append(line.decode())
        await asyncio.sleep(0.5)  # the greeting's /start reaches the bot
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = "".join(lines) + rest.decode()
    assert process.returncode == 0 and "Traceback" not in output, output
    return output


def _stock_of(database: Path, sku: str) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT stock FROM product WHERE sku = ?", (sku,)).fetchone()[0]


async def test_demo_keep_goes_on_with_the_last_shop_and_says_which_one_it_is(
    tmp_path: Path,
) -> None:
    database = tmp_path / "shopbot-demo" / "demo.db"
    fresh = await _run_demo_until_banner(tmp_path)
    assert "(recreated on every start; --keep keeps it)" in fresh
    assert "16 FAQ entries" in fresh  # the sample shop's common questions beside its catalogue
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM faq_entry").fetchone()[0] == 16
    with sqlite3.connect(database) as connection:  # what a run of the demo might have changed
        connection.execute("UPDATE product SET stock = 777 WHERE sku = 'TSH-001'")

    kept = await _run_demo_until_banner(tmp_path, "--keep")
    assert re.search(r"shop: kept from the last run \(2\d products, 0 orders;", kept), kept
    assert _stock_of(database, "TSH-001") == 777

    again = await _run_demo_until_banner(tmp_path)
    assert "recreated on every start" in again
    assert _stock_of(database, "TSH-001") != 777
