"""Hostile catalogues: URLs into the shop's own network, picture bombs, floods of errors,
huge headers, concurrent imports, and what a killed import leaves behind."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.cli import main
from shopbot.importer import ImportOptions, ImportReport, exclusive, images, import_catalog
from shopbot.importer.base import MAX_LISTED_PROBLEMS
from shopbot.models import Product, ProductImage

Factory = async_sessionmaker[AsyncSession]
PICTURE = Path(__file__).parent / "data" / "import" / "good" / "images" / "mug.jpg"


def problems(report: ImportReport) -> list[tuple[int | None, str | None, str]]:
    return [(problem.line, problem.column, problem.code) for problem in report.errors]


def one_picture(url: str) -> bytes:
    return f"sku,name,price,image\nA-1,Кружка,590,{url}\n".encode()


# --- image URLs ---------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    hits: Counter[str]


Answer = Callable[[], web.Response]


async def serve(host: str, routes: dict[str, Answer]) -> AsyncIterator[Server]:
    """A web server on ``host`` answering each path with a fresh response, counting hits."""
    hits: Counter[str] = Counter()

    def handler_for(path: str, answer: Answer) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(_request: web.Request) -> web.Response:
            hits[path] += 1
            return answer()

        return handler

    app = web.Application()
    for path, answer in routes.items():
        app.router.add_get(path, handler_for(path, answer))
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    bound, port = runner.addresses[0][:2]
    yield Server(f"http://{bound}:{port}", hits)
    await runner.cleanup()


def picture() -> web.Response:
    return web.Response(body=PICTURE.read_bytes(), content_type="image/jpeg")


@pytest.fixture
async def internal() -> AsyncIterator[Server]:
    """A service on the shop's own network (127.0.0.2) that an import must never reach."""
    async for server in serve("127.0.0.2", {"/secret.jpg": picture}):
        yield server


@pytest.fixture
async def outside(internal: Server) -> AsyncIterator[Server]:
    """A picture host on 127.0.0.1, which the redirect tests treat as the internet."""
    redirects = {
        "/to-internal": f"{internal.url}/secret.jpg",
        "/to-credentials": "http://user:secret@example.com/a.jpg",
        "/to-ipv6-loopback": f"http://[::1]:{internal.url.rsplit(':', 1)[1]}/secret.jpg",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/relative": "/mug.jpg",
    }
    redirects["/loop"] = "/loop"
    routes: dict[str, Answer] = {
        path: partial(web.Response, status=302, headers={"Location": target})
        for path, target in redirects.items()
    }
    routes["/mug.jpg"] = picture
    async for server in serve("127.0.0.1", routes):
        yield server


@pytest.mark.parametrize(
    "url",
    [
        "{internal}/secret.jpg",
        "http://localhost:{port}/secret.jpg",
        "http://127.0.0.1:{port}/secret.jpg",
        "http://[::1]:{port}/secret.jpg",
        "http://[::ffff:127.0.0.2]:{port}/secret.jpg",
        "http://0.0.0.0:{port}/secret.jpg",
        "http://10.1.2.3/a.jpg",
        "http://192.168.0.1/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1%25eth0]/a.jpg",
        "http://user:secret@example.com/a.jpg",
    ],
)
async def test_urls_into_the_shops_own_network_are_refused(
    url: str, internal: Server, session_factory: Factory, media_dir: Path
) -> None:
    port = internal.url.rsplit(":", 1)[1]
    data = one_picture(url.format(internal=internal.url, port=port))

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert problems(report) == [(2, "image", "private_url")]
    assert "IMPORT_ALLOW_PRIVATE_URLS" in report.errors[0].message
    assert internal.hits == Counter()


async def test_private_urls_are_fetched_when_allowed(
    internal: Server, session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    data = one_picture(f"{internal.url}/secret.jpg")

    report = await import_catalog(
        session_factory, data, ImportOptions(media_dir, allow_private_urls=True)
    )

    assert report.errors == [] and report.created == 1
    assert await session.scalar(select(ProductImage.source)) == f"{internal.url}/secret.jpg"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/to-internal", "private_url"),
        ("/to-credentials", "private_url"),
        ("/to-ipv6-loopback", "private_url"),
        ("/to-metadata", "private_url"),
        ("/loop", "bad_url"),
        ("/relative", None),
    ],
)
async def test_every_redirect_hop_is_checked(
    path: str,
    code: str | None,
    outside: Server,
    internal: Server,
    session_factory: Factory,
    media_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    public = images.is_public
    monkeypatch.setattr(
        images, "is_public", lambda address: address == IPv4Address("127.0.0.1") or public(address)
    )

    report = await import_catalog(
        session_factory, one_picture(f"{outside.url}{path}"), ImportOptions(media_dir)
    )

    assert problems(report) == ([(2, "image", code)] if code else [])
    assert internal.hits == Counter()
    if code is None:
        assert outside.hits == Counter({"/relative": 1, "/mug.jpg": 1})


# --- floods of errors, huge headers -------------------------------------------------------


def bad_rows(size: int, row: str) -> bytes:
    """A file of about ``size`` bytes whose every row is wrong the way ``row`` is."""
    header = "sku,name,price,stock,category,description,image,active\n"
    count = (size - len(header)) // len(row.format(n=10**6).encode()) + 1
    return (header + "".join(row.format(n=n) for n in range(count))).encode()


@pytest.mark.parametrize(
    ("row", "per_row"),
    [
        ("E-{n},Товар,abc,x,,,,maybe\n", 3),  # price, stock and active all wrong
        ('Q-{n},"bad"x,1\n', 1),  # a quote inside an unquoted value
    ],
    ids=["bad-values", "bad-quotes"],
)
async def test_a_file_full_of_errors_lists_the_first_thousand_and_counts_the_rest(
    row: str, per_row: int, session_factory: Factory, media_dir: Path
) -> None:
    data = bad_rows(5 * 1024 * 1024 if per_row > 1 else 200 * 1024, row)
    rows = data.count(b"\n") - 1

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert len(report.errors) == MAX_LISTED_PROBLEMS
    assert report.errors.total == rows * per_row
    assert report.errors[0].line == 2 and not report.ok


async def test_a_header_of_a_million_columns_is_refused_before_it_is_parsed(
    session_factory: Factory, media_dir: Path
) -> None:
    data = ("sku,name,price" + ",c" * 1_500_000 + "\nA-1,Кружка,590\n").encode()

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert problems(report) == [(1, None, "too_many_columns")]
    assert "1,500,003 columns" in report.errors[0].message
    assert report.warnings == []


async def test_the_command_line_says_how_many_more_errors_there_are(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(bad_rows(256 * 1024, "E-{n},Товар,abc\n"))
    rows = path.read_bytes().count(b"\n") - 1
    environment = {
        "DATABASE_URL": database_url,
        "MEDIA_DIR": str(tmp_path / "media"),
        "SHOPBOT_LANGUAGE": "en",
    }

    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        code = await asyncio.to_thread(main, ["import", str(path)])

    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert len([line for line in err if line.startswith("error: line")]) == MAX_LISTED_PROBLEMS
    assert err[-2:] == [
        f"error: … and {rows - MAX_LISTED_PROBLEMS} more, not listed",
        f"import failed: {rows} problems; nothing was changed",
    ]


# --- imports at the same time ---------------------------------------------------------------


def new_catalogue(rows: int = 2000) -> bytes:
    lines = "".join(
        f"N-{n:05d},Товар {n},{100 + n},{n % 7},Раздел {n % 5} / Подраздел {n % 3}\n"
        for n in range(rows)
    )
    return f"sku,name,price,stock,category\n{lines}".encode()


async def test_imports_at_the_same_time_run_one_after_another(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    """On PostgreSQL two of three died on the unique SKU (and category path) of the first."""
    data = new_catalogue()

    reports = await asyncio.gather(
        *(import_catalog(session_factory, data, ImportOptions(media_dir)) for _ in range(3))
    )

    assert sorted((r.created, r.unchanged) for r in reports) == [(0, 2000), (0, 2000), (2000, 0)]
    assert await session.scalar(select(func.count()).select_from(Product)) == 2000


async def test_three_command_line_imports_at_once_all_succeed(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "catalogue.csv"
    path.write_bytes(new_catalogue(20000))
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDIA_DIR": str(tmp_path / "media"),
        "SHOPBOT_LANGUAGE": "en",
    }

    async def cli() -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shopbot",
            "import",
            str(path),
            env=environment,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, (out + err).decode()

    results = await asyncio.gather(cli(), cli(), cli())

    assert [code for code, _output in results] == [0, 0, 0], [out[-600:] for _c, out in results]
    assert all("Traceback" not in output for _code, output in results)
    summaries = sorted(output.split("written: ")[1].split(",")[0] for _code, output in results)
    assert summaries == ["0 created", "0 created", "20000 created"]


# --- what a killed import leaves ------------------------------------------------------------


@dataclass
class Artefacts:
    """What kill -9 leaves behind, next to what must survive the cleaning."""

    removed: list[Path]
    kept: list[Path]
    live: ExitStack  # holds a running import's staging folder open


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temporary folder, for the importer in this process (TMPDIR for others)."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


async def leave_artefacts(session_factory: Factory, media_dir: Path, root: Path) -> Artefacts:
    """A product with its picture; then what a killed import leaves, in the importer's own
    names: two pictures no product refers to, a ``.part``, and staging folders."""
    report = await import_catalog(
        session_factory,
        f"sku,name,price,image\nA-1,Кружка,590,{PICTURE.name}\n".encode(),
        ImportOptions(media_dir, base_dir=PICTURE.parent),
    )
    assert report.ok
    [used] = list((media_dir / "products").rglob("*.jpg"))
    orphan = used.with_name(f"{used.name[:2]}{'0' * 62}.jpg")  # beside a used one
    alone = media_dir / "products" / "ee" / f"ee{'1' * 62}.jpg"  # in a folder of its own
    part = used.with_name(f".{used.name}.1a2b3c4d.part")
    theirs = [
        media_dir / "products" / "mug.jpg",
        used.with_name("notes.txt"),
        media_dir / "import" / "pending" / "0123456789abcdef.csv",
        media_dir / "import" / "images" / f"{'2' * 64}.jpg",
    ]
    for path in [orphan, alone, part, *theirs]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PICTURE.read_bytes())

    dead = root / "shopbot-import-dead1234"  # its process was killed: no lock on it
    dead.mkdir()
    (dead / "owner").write_text("4242")
    (dead / f"{'3' * 64}.jpg").write_bytes(PICTURE.read_bytes())
    old_version = root / "shopbot-import-old12345"  # an older shopbot's: no owner file
    old_version.mkdir()
    (old_version / f"{'4' * 64}.jpg").write_bytes(PICTURE.read_bytes())
    two_hours_ago = time.time() - 7200
    os.utime(old_version, (two_hours_ago, two_hours_ago))
    just_made = root / "shopbot-import-new12345"  # an instant old, not yet locked
    just_made.mkdir()
    other = root / "someone-else"
    other.mkdir()
    live = ExitStack()
    running = live.enter_context(exclusive.staging_folder())
    return Artefacts(
        removed=[orphan, alone, alone.parent, part, dead, old_version],
        kept=[used, *theirs, just_made, other, running],
        live=live,
    )


def check_cleaned(artefacts: Artefacts) -> None:
    assert [path for path in artefacts.removed if path.exists()] == []
    assert [path for path in artefacts.kept if not path.exists()] == []


async def test_leftovers_of_a_killed_import_are_cleared_and_nothing_else(
    session_factory: Factory, media_dir: Path, temp_root: Path
) -> None:
    artefacts = await leave_artefacts(session_factory, media_dir, temp_root)
    with artefacts.live:
        cleared = await exclusive.clear_leftovers(session_factory, media_dir)

        assert cleared == exclusive.Leftovers(pictures=2, parts=1, staging_folders=2)
        check_cleaned(artefacts)
        assert await exclusive.clear_leftovers(session_factory, media_dir) == exclusive.Leftovers()


def cli_environment(database_url: str, media_dir: Path, root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDIA_DIR": str(media_dir),
        "TMPDIR": str(root),
        "IMPORT_ALLOW_PRIVATE_URLS": "1",
    }


async def run_cli(environment: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shopbot",
        "import",
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_the_command_line_import_clears_leftovers_first(
    session_factory: Factory, database_url: str, media_dir: Path, temp_root: Path, tmp_path: Path
) -> None:
    artefacts = await leave_artefacts(session_factory, media_dir, temp_root)
    path = tmp_path / "prices.csv"
    path.write_bytes("sku,name,price\nA-1,Кружка,650\n".encode())

    with artefacts.live:
        process = await run_cli(cli_environment(database_url, media_dir, temp_root), str(path))
        _out, err = await process.communicate()

        assert process.returncode == 0, err.decode()
        assert "removed what interrupted imports left: 2 unused pictures and 1 partial" in (
            err.decode()
        )
        check_cleaned(artefacts)


def names(folder: Path, pattern: str = "*") -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.glob(pattern))


async def test_an_import_killed_mid_way_is_cleared_by_the_next_one(
    engine: AsyncEngine, database_url: str, media_dir: Path, temp_root: Path, tmp_path: Path
) -> None:
    """kill -9 while the import waits for a picture URL: its staging folder stays behind
    until the next import starts."""
    requested, answer = asyncio.Event(), asyncio.Event()

    async def never(_request: web.Request) -> web.Response:
        requested.set()
        await answer.wait()
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/never.jpg", never)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    shutil.copy(PICTURE, tmp_path / "mug.jpg")
    stuck = tmp_path / "stuck.csv"
    stuck.write_bytes(
        "sku,name,price,image\nA-1,Кружка,590,mug.jpg\n"
        f"A-2,Чашка,490,http://127.0.0.1:{port}/never.jpg\n".encode()
    )
    environment = cli_environment(database_url, media_dir, temp_root)

    process = await run_cli(environment, str(stuck))
    async with asyncio.timeout(60):  # a guard against a hang, not a measurement
        await requested.wait()
    process.kill()  # SIGKILL: no finally block runs
    await process.wait()
    [left] = names(temp_root)
    assert left.startswith("shopbot-import-") and "owner" in names(temp_root / left)

    answer.set()
    await runner.cleanup()
    mug = tmp_path / "mug.csv"
    mug.write_bytes("sku,name,price,image\nA-1,Кружка,590,mug.jpg\n".encode())
    again = await run_cli(environment, str(mug))
    _out, err = await again.communicate()

    assert again.returncode == 0, err.decode()
    assert "1 staging folders" in err.decode()
    assert names(temp_root) == []
