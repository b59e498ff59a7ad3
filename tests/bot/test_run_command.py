"""``shopbot run`` as a real process: starts against the emulator, serves, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from shopbot.emulators.telegram import TelegramEmulator
from tests.bot.conftest import TOKEN


async def shopbot(
    command: str, *, cwd: Path, env: dict[str, str], merge_stderr: bool = False
) -> asyncio.subprocess.Process:
    """``python -m shopbot COMMAND`` as a child process with piped output."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shopbot",
        command,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
    )


async def until(condition: Callable[[], object]) -> None:
    """Wait up to 10 s for ``condition`` to hold (a production bot handles updates as tasks)."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_run_serves_shoppers_and_stops_cleanly_on_sigterm(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "WEB_PORT": "0",
    }
    env.pop("SHOPBOT_TEST_DATABASE_URL", None)
    process = await shopbot("run", cwd=tmp_path, env=env, merge_stderr=True)
    try:
        anna = emulator.user(42, "Анна")
        await until(lambda: emulator.count("getUpdates"))
        await anna.send_text("/start")
        await until(lambda: anna.messages)
        assert "Здравствуйте, Анна!" in anna.last["text"]
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = output.decode()
    assert process.returncode == 0, log
    assert "shopbot @shopbot_test_bot started: Telegram at " + emulator.base_url in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert "Traceback" not in log
    assert emulator.commands[("default", "")][0]["command"] == "start"
    assert emulator.errors == []


async def test_run_without_a_token_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    process = await shopbot("run", cwd=tmp_path, env=env)
    _, stderr = await process.communicate()
    assert process.returncode == 2
    assert stderr.decode().strip().splitlines() == [
        "shopbot: invalid setting BOT_TOKEN: required to run the bot"
    ]


def test_run_without_a_token_says_so_before_importing_the_bot(tmp_path: Path) -> None:
    """The check comes before aiogram and the bot package are imported (seconds of work)."""
    script = (
        "import sys\n"
        "from shopbot.cli import main\n"
        "code = main(['run'])\n"
        "print(sorted(m for m in ('aiogram', 'shopbot.bot', 'shopbot.app') if m in sys.modules))\n"
        "raise SystemExit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "BOT_TOKEN" in lines[0], done.stderr
    assert done.stdout.strip() == "[]"


async def test_a_malformed_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "ADMIN_IDS": "12,abc"}
    process = await shopbot("migrate", cwd=tmp_path, env=env)
    _, stderr = await process.communicate()
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 2 and len(lines) == 1 and "ADMIN_IDS" in lines[0]


async def test_run_with_redis_unreachable_says_so_in_one_line(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "REDIS_URL": f"redis://:secret-password@127.0.0.1:{port}/3",
        "WEB_PORT": "0",
    }
    process = await shopbot("run", cwd=tmp_path, env=env)
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 1
    assert stderr.decode().splitlines() == [
        f"shopbot: cannot reach Redis at 127.0.0.1:{port}/3 (REDIS_URL): Connection refused"
    ]
    assert emulator.count("getMe") == 0  # checked before anything else
