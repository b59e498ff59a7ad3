"""One import at a time, across processes (the bot's and ``shopbot import``), and clearing
what an import killed half-way (kill -9, a power cut) left behind.

A killed import leaves its staging folder in the system's temporary folder and, if it died
while placing pictures (just before its commit), pictures no product refers to and
``.part`` files in the media folder. :func:`clear_leftovers` removes them; the bot and the
``import`` command call it when they start.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from shopbot.db import unit_of_work
from shopbot.importer.images import STORE_FOLDER
from shopbot.models import ProductImage

log = logging.getLogger(__name__)

# pg_advisory_xact_lock's key for imports: "shopbot" and 1, as a signed 64-bit number.
IMPORT_LOCK = 0x73686F70626F7401
STAGING_PREFIX = "shopbot-import-"
OWNER = "owner"  # written in a staging folder once its import holds the folder's lock
# A staging folder without an owner file is an older shopbot's (or one killed in the instant
# between making it and locking it): removed once it is this old.
UNOWNED_AGE = 3600.0
_PICTURE = re.compile(r"[0-9a-f]{64}\.jpg")
_PART = re.compile(r"\..+\.part")
_SHARD = re.compile(r"[0-9a-f]{2}")


async def lock_imports(connection: AsyncConnection) -> None:
    """Wait for any other import to commit, and keep others out until this transaction ends.

    Two imports planning against the same database would both create a new SKU or
    category, and the second would die on the unique constraint. On SQLite the unit of
    work already holds the database's write lock, which does the same.
    """
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})


@contextmanager
def staging_folder() -> Iterator[Path]:
    """A temporary folder for an import's pictures, locked (``flock``) while it lives.

    The kernel drops the lock when the process dies however it dies, which is how
    :func:`clear_leftovers` tells a live import's folder from a dead one's.
    """
    path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX))
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        (path / OWNER).write_text(str(os.getpid()))
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(descriptor)


@dataclass(frozen=True)
class Leftovers:
    """What :func:`clear_leftovers` removed."""

    pictures: int = 0
    parts: int = 0
    staging_folders: int = 0

    def __bool__(self) -> bool:
        return bool(self.pictures or self.parts or self.staging_folders)


async def clear_leftovers(
    session_factory: async_sessionmaker[AsyncSession], media_dir: Path
) -> Leftovers:
    """Remove the staging folders of dead imports, and from the media folder the pictures
    no product refers to and the ``.part`` files of interrupted copies.

    Only names the importer makes are touched (``products/ab/ab….jpg``, ``.….part``); the
    media folder is scanned under the import lock, so the pictures of an import that is
    placing them right now (before its commit makes them referenced) are left alone.
    """
    staging = await asyncio.to_thread(_clear_staging, Path(tempfile.gettempdir()))
    async with session_factory() as session, unit_of_work(session):
        connection = await session.connection()
        await lock_imports(connection)
        referenced = set(await session.scalars(select(ProductImage.path)))
        pictures, parts = await asyncio.to_thread(_clear_media, media_dir, referenced)
    leftovers = Leftovers(pictures, parts, staging)
    if leftovers:
        log.info(
            "removed what interrupted imports left: %d unused pictures and %d partial files "
            "in %s, %d staging folders in %s",
            pictures,
            parts,
            media_dir,
            staging,
            tempfile.gettempdir(),
        )
    return leftovers


def _clear_staging(root: Path) -> int:
    removed = 0
    for path in root.glob(f"{STAGING_PREFIX}*"):
        try:
            if path.is_symlink() or not path.is_dir():
                continue
            descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:  # gone meanwhile, or another user's
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # locked: its import is running
            os.close(descriptor)
            continue
        try:
            owned = (path / OWNER).exists()
            if owned or time.time() - path.stat().st_mtime > UNOWNED_AGE:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        finally:
            os.close(descriptor)
    return removed


def _clear_media(media_dir: Path, referenced: set[str]) -> tuple[int, int]:
    pictures = parts = 0
    store = media_dir / STORE_FOLDER
    if not store.is_dir():
        return 0, 0
    for shard in store.iterdir():
        if not _SHARD.fullmatch(shard.name) or shard.is_symlink() or not shard.is_dir():
            continue
        for file in shard.iterdir():
            if _PART.fullmatch(file.name):
                file.unlink(missing_ok=True)
                parts += 1
            elif (
                _PICTURE.fullmatch(file.name)
                and file.name.startswith(shard.name)
                and f"{STORE_FOLDER}/{shard.name}/{file.name}" not in referenced
            ):
                file.unlink(missing_ok=True)
                pictures += 1
        if not any(shard.iterdir()):
            shard.rmdir()
    return pictures, parts
