"""``shopbot backup`` and ``shopbot restore`` through the real command line, on SQLite and,
when the tests are given one, PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.db import create_engine
from shopbot.models import Product
from tests.conftest import create_postgres_database, reset_postgres
from tests.factories import make_product

IMAGES = {
    "ab/abcdef.webp": b"RIFF-one",
    "cd/cdef01.webp": b"RIFF-two",
    "cd/cdef01-thumb.webp": b"3",
}


@pytest.fixture
def restore_url(tmp_path: Path, postgres_url: str | None) -> str:
    """An empty database of the same kind as the tests', of this test's own."""
    if postgres_url is None:
        return f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    url = make_url(postgres_url)
    own = url.set(database=f"{url.database}_restore")
    create_postgres_database(own)
    rendered = own.render_as_string(hide_password=False)
    asyncio.run(reset_postgres(rendered))
    return rendered


async def shopbot(*args: str, **env: str) -> tuple[int, str, str]:
    """``shopbot ARGS`` as a process of its own (the bot's writes go on meanwhile)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SHOPBOT_LANGUAGE", "LANG", "LC_ALL", "LC_MESSAGES")
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shopbot",
        *args,
        env={**environment, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def with_images(media_dir: Path) -> None:
    for name, data in IMAGES.items():
        path = media_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


async def total_stock(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.sum(Product.stock))) or 0)
    finally:
        await engine.dispose()


async def test_a_backup_taken_while_the_shop_sells_restores_one_moment_of_it(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    database_url: str,
    restore_url: str,
    media_dir: Path,
    tmp_path: Path,
) -> None:
    """Stock moves from one product to the other, one unit per transaction, all the while:
    a copy with half a transaction in it would not add up to 1,000."""
    first = await make_product(session, "Кружка", stock=500)
    second = await make_product(session, "Футболка", stock=500)
    with_images(media_dir)
    moves = 0
    backing_up = True

    async def sell() -> None:
        nonlocal moves
        while backing_up:
            async with session_factory.begin() as writing:
                source, target = (first, second) if moves % 2 else (second, first)
                await writing.execute(
                    update(Product).where(Product.id == source.id).values(stock=Product.stock - 1)
                )
                await writing.execute(
                    update(Product).where(Product.id == target.id).values(stock=Product.stock + 1)
                )
            moves += 1
            await asyncio.sleep(0)

    selling = asyncio.create_task(sell())
    archive = tmp_path / "shop.tar.gz"
    code, out, err = await shopbot(
        "backup", str(archive), DATABASE_URL=database_url, MEDIA_DIR=str(media_dir)
    )
    backing_up = False
    await selling
    assert (code, err) == (0, ""), err
    assert "копия записана" in out and "3 картинки" in out
    assert moves > 10  # the shop did sell while the copy was made

    restored_media = tmp_path / "restored-media"
    code, out, err = await shopbot(
        "restore", str(archive), DATABASE_URL=restore_url, MEDIA_DIR=str(restored_media)
    )
    assert (code, err) == (0, ""), err
    assert "восстановлено" in out and "migrate" not in out  # the copy is at the code's revision
    assert await total_stock(restore_url) == 1000
    assert {
        path.relative_to(restored_media).as_posix(): path.read_bytes()
        for path in restored_media.rglob("*")
        if path.is_file()
    } == IMAGES
    restored = create_engine(restore_url)
    try:
        async with restored.connect() as connection:
            names = await connection.scalar(select(func.count()).select_from(Product))
            assert names == 2
    finally:
        await restored.dispose()


async def test_restore_refuses_a_database_with_tables_unless_forced(
    engine: AsyncEngine,
    session: AsyncSession,
    database_url: str,
    media_dir: Path,
    tmp_path: Path,
) -> None:
    product = await make_product(session, "Кружка", stock=7)
    archive = tmp_path / "shop.tar.gz"
    env = {"DATABASE_URL": database_url, "MEDIA_DIR": str(media_dir)}
    assert (await shopbot("backup", str(archive), **env))[0] == 0
    await session.execute(update(Product).values(stock=3))
    await session.commit()

    code, _out, err = await shopbot("restore", str(archive), **env)
    assert code == 1
    assert "в базе уже есть таблицы" in err and "--force" in err
    assert await total_stock(database_url) == 3  # untouched

    code, _out, err = await shopbot("restore", str(archive), "--force", **env)
    assert (code, err) == (0, ""), err
    assert await total_stock(database_url) == product.stock == 7


async def test_backup_keeps_an_existing_archive_unless_forced(
    engine: AsyncEngine, database_url: str, media_dir: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "shop.tar.gz"
    archive.write_bytes(b"yesterday's")
    env = {"DATABASE_URL": database_url, "MEDIA_DIR": str(media_dir), "SHOPBOT_LANGUAGE": "en"}
    code, _out, err = await shopbot("backup", str(archive), **env)
    assert code == 1 and "exists already (--force replaces it)" in err
    assert archive.read_bytes() == b"yesterday's"
    assert (await shopbot("backup", str(archive), "--force", **env))[0] == 0
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["database"] == engine.dialect.name
    assert [name for name in os.listdir(tmp_path) if name.endswith(".part")] == []


def crafted(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"notes.txt": b"hello"}, "не резервная копия shopbot"),
        (
            {
                "manifest.json": json.dumps(
                    {"format": "shopbot-backup/1", "database": "oracle"}
                ).encode()
            },
            "не резервная копия shopbot",
        ),
        (
            {
                "manifest.json": json.dumps(
                    {"format": "shopbot-backup/9", "database": "sqlite"}
                ).encode()
            },
            "другой версией резервных копий",
        ),
    ],
)
async def test_restore_refuses_what_is_not_its_backup(
    restore_url: str, tmp_path: Path, members: dict[str, bytes], message: str
) -> None:
    archive = crafted(tmp_path / "other.tar.gz", members)
    code, _out, err = await shopbot(
        "restore", str(archive), DATABASE_URL=restore_url, MEDIA_DIR=str(tmp_path / "media")
    )
    assert code == 1 and message in err, err


async def test_restore_refuses_an_image_that_would_land_outside_the_media_folder(
    engine: AsyncEngine, database_url: str, media_dir: Path, restore_url: str, tmp_path: Path
) -> None:
    """Nothing is written: not the database, not the other images."""
    archive = tmp_path / "shop.tar.gz"
    with_images(media_dir)
    assert (
        await shopbot("backup", str(archive), DATABASE_URL=database_url, MEDIA_DIR=str(media_dir))
    )[0] == 0
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    members["media/../../escaped.txt"] = b"evil"
    forged = crafted(tmp_path / "forged.tar.gz", members)

    restored_media = tmp_path / "restored-media"
    code, _out, err = await shopbot(
        "restore", str(forged), DATABASE_URL=restore_url, MEDIA_DIR=str(restored_media)
    )
    assert code == 1 and "нельзя записать" in err, err
    assert not (tmp_path / "escaped.txt").exists()
    assert not restored_media.exists()
    restored = create_engine(restore_url)
    try:
        async with restored.connect() as connection:
            tables = await connection.run_sync(lambda sync: sync.dialect.get_table_names(sync))
    finally:
        await restored.dispose()
    assert tables == []


async def test_a_backup_of_one_kind_of_database_is_not_restored_into_another(
    tmp_path: Path, restore_url: str
) -> None:
    other = "postgresql" if restore_url.startswith("sqlite") else "sqlite"
    manifest = {"format": "shopbot-backup/1", "database": other, "revision": "0001"}
    archive = crafted(tmp_path / "other.tar.gz", {"manifest.json": json.dumps(manifest).encode()})
    code, _out, err = await shopbot(
        "restore",
        str(archive),
        DATABASE_URL=restore_url,
        MEDIA_DIR=str(tmp_path / "media"),
        SHOPBOT_LANGUAGE="en",
    )
    assert code == 1 and "restore it onto the same kind" in err, err


async def test_without_pg_dump_the_backup_says_what_to_install(
    engine: AsyncEngine, database_url: str, media_dir: Path, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("pg_dump serves PostgreSQL only")
    archive = tmp_path / "shop.tar.gz"
    code, _out, err = await shopbot(
        "backup", str(archive), DATABASE_URL=database_url, MEDIA_DIR=str(media_dir), PATH="/nowhere"
    )
    assert code == 1 and "pg_dump не установлен" in err and "postgresql-client" in err
    assert not archive.exists()


async def test_an_older_backup_asks_for_migrate(
    database_url: str, restore_url: str, media_dir: Path, tmp_path: Path
) -> None:
    """A backup made by an older shopbot restores as it was, and says what to do next."""
    from shopbot.db import migrate

    old = create_engine(database_url)
    try:
        if old.dialect.name == "postgresql":
            await reset_postgres(database_url)
        await migrate(old, "0001")
    finally:
        await old.dispose()
    archive = tmp_path / "old.tar.gz"
    env = {"MEDIA_DIR": str(media_dir), "SHOPBOT_LANGUAGE": "en"}
    assert (await shopbot("backup", str(archive), DATABASE_URL=database_url, **env))[0] == 0
    code, out, _err = await shopbot("restore", str(archive), DATABASE_URL=restore_url, **env)
    assert code == 0
    assert "database at revision 0001" in out and "run shopbot migrate" in out
    restored = create_engine(restore_url)
    try:
        async with restored.connect() as connection:
            assert (
                await connection.scalar(text("SELECT version_num FROM alembic_version")) == "0001"
            )
    finally:
        await restored.dispose()
