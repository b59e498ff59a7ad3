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
from tests.bot.conftest import TOKEN, shopbot


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
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"} | {"SHOPBOT_LANGUAGE": "en"}
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
        "SHOPBOT_LANGUAGE": "ru",  # the reader's language, Russian by default
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
        f"shopbot: не удаётся подключиться к Redis по адресу 127.0.0.1:{port}/3 (REDIS_URL): "
        "Connection refused"
    ]
    assert emulator.count("getMe") == 0  # checked before anything else


def _run_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "WEB_PORT": "0",
        **settings,
    }
    env.pop("SHOPBOT_TEST_DATABASE_URL", None)
    return env


async def _stderr_lines(process: asyncio.subprocess.Process) -> list[str]:
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return stderr.decode().strip().splitlines()


async def test_run_with_a_malformed_token_says_so_before_contacting_telegram(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    env = _run_env(tmp_path, BOT_TOKEN="abc", TELEGRAM_API_URL=emulator.base_url)
    process = await shopbot("run", cwd=tmp_path, env=env)
    lines = await _stderr_lines(process)
    assert process.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("shopbot: invalid setting BOT_TOKEN: not a bot")
    assert emulator.count("getMe") == 0


async def test_run_with_yookassa_but_no_credentials_says_so_before_contacting_telegram(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    env = _run_env(tmp_path, PAYMENT_PROVIDER="yookassa", TELEGRAM_API_URL=emulator.base_url)
    for name in ("YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY"):
        env.pop(name, None)
    process = await shopbot("run", cwd=tmp_path, env=env)
    lines = await _stderr_lines(process)
    assert process.returncode == 2
    assert lines == [
        "shopbot: invalid setting YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY are required "
        "with PAYMENT_PROVIDER=yookassa"
    ]
    assert emulator.count("getMe") == 0


async def test_run_on_a_busy_web_port_says_so_before_contacting_anything(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = _run_env(
            tmp_path,
            WEB_PORT=str(port),
            TELEGRAM_API_URL=emulator.base_url,
            SHOPBOT_LANGUAGE="en",
        )
        process = await shopbot("run", cwd=tmp_path, env=env)
        lines = await _stderr_lines(process)
    assert process.returncode == 1
    assert lines == [
        f"shopbot: cannot listen on 127.0.0.1:{port} (WEB_HOST, WEB_PORT): Address already in use"
    ]
    assert emulator.count("getMe") == 0
    assert not (tmp_path / "run.db").exists()  # not even the database was touched


async def test_run_retries_an_unreachable_telegram_one_line_a_time_then_starts(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on, yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emulator = TelegramEmulator(TOKEN)
    api_url = f"http://127.0.0.1:{port}"
    env = _run_env(tmp_path, TELEGRAM_API_URL=api_url)
    process = await shopbot("run", cwd=tmp_path, env=env, merge_stderr=True)
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while sum("is not reachable" in line for line in lines) < 2:  # pauses of 1 s, then 2 s
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "\n".join(lines)
            lines.append(line.decode().rstrip())
        await emulator.start("127.0.0.1", port)
        while not any(" started: Telegram at " in line for line in lines):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "\n".join(lines)
            lines.append(line.decode().rstrip())
        await until(lambda: emulator.count("getUpdates"))  # polling has taken the signals
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await emulator.stop()
    log = "\n".join(lines) + rest.decode()
    assert process.returncode == 0, log
    attempts = [line for line in lines if "is not reachable" in line]
    assert f"Telegram at {api_url} is not reachable" in attempts[0]
    assert attempts[0].endswith("trying again in 1 s") and attempts[1].endswith("in 2 s")
    assert "Traceback" not in log and "Unclosed client session" not in log
    assert TOKEN.split(":")[1] not in log


async def test_run_with_a_token_telegram_refuses_says_so_in_one_line(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    env = _run_env(tmp_path, BOT_TOKEN="123456:not-the-emulators-token", SHOPBOT_LANGUAGE="ru")
    env["TELEGRAM_API_URL"] = emulator.base_url
    process = await shopbot("run", cwd=tmp_path, env=env)
    lines = await _stderr_lines(process)
    assert process.returncode == 1
    assert lines[-1] == "shopbot: Telegram не принял BOT_TOKEN: проверьте его у @BotFather", lines
    assert not any("Traceback" in line or "Unclosed" in line for line in lines), lines


def test_demo_with_a_port_out_of_range_says_so_in_one_line(tmp_path: Path) -> None:
    for language, line in (
        (
            "en",
            "shopbot demo: argument --port: a port is a number from 1 to 65535, not 99999 "
            "(see shopbot demo --help)",
        ),
        (
            "ru",
            "shopbot demo: аргумент --port: порт — это число от 1 до 65535, а не 99999 "
            "(см. shopbot demo --help)",
        ),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "shopbot", "demo", "--port", "99999"],
            cwd=tmp_path,
            env={**os.environ, "SHOPBOT_LANGUAGE": language},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert done.stderr.splitlines() == [line]
