"""Backups: one archive holding a consistent copy of the database and the media folder, and
bringing such an archive back onto an empty database.

The archive is a gzipped tar:

- ``manifest.json``: the archive's format, shopbot's version, when it was made, the kind of
  database and its schema revision, the number of images;
- ``database.sqlite`` (SQLite, copied with SQLite's online backup API, a snapshot taken
  while the bot goes on writing) or ``database.pgdump`` (PostgreSQL: ``pg_dump``'s custom
  format, one snapshot transaction);
- ``media/…``: the processed product images.

The database is copied first and the images after: images are written before the rows that
name them and never changed in place, so every image the copy names is in the archive (at
worst with a few newer ones nothing names yet). The archive is written under a temporary
name and renamed at the end: a backup killed half-way leaves no file that looks complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shopbot import __version__
from shopbot.db import alembic_config, create_engine, current_revision
from shopbot.i18n import N_, Text

FORMAT = "shopbot-backup/1"
MANIFEST = "manifest.json"
MEDIA = "media"
DUMPS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
T = TypeVar("T")
TOOL_TIMEOUT = 6 * 3600  # seconds: a dump of a very large shop on a slow disk


class BackupError(Exception):
    """Why a backup or a restore could not be done, for the person who asked."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    size: int  # bytes
    revision: str | None
    images: int


@dataclass(frozen=True)
class RestoreSummary:
    revision: str | None
    head: str | None  # the revision this code expects: differs when a migration is due
    images: int


async def create_backup(
    database_url: str, media_dir: Path, archive: Path, *, replace: bool = False
) -> BackupSummary:
    """Write ``archive`` (refusing an existing file unless ``replace``)."""
    url = make_url(database_url)
    dialect = _dialect(url)
    revision = await _ask_database(database_url, current_revision)
    return await asyncio.to_thread(
        _write_backup, url, dialect, revision, media_dir, archive, replace
    )


async def restore_backup(
    database_url: str, media_dir: Path, archive: Path, *, force: bool = False
) -> RestoreSummary:
    """Bring ``archive`` back: the database (which must be empty unless ``force``; then its
    tables are replaced by the archive's) and the images, added to ``media_dir``."""
    url = make_url(database_url)
    dialect = _dialect(url)
    has_tables = await _ask_database(database_url, _has_tables)
    images = await asyncio.to_thread(
        _restore_files, url, dialect, archive, media_dir, force=force, has_tables=has_tables
    )
    revision = await _ask_database(database_url, current_revision)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return RestoreSummary(revision, head, images)


def _write_backup(
    url: URL,
    dialect: str,
    revision: str | None,
    media_dir: Path,
    archive: Path,
    replace: bool,
) -> BackupSummary:
    if archive.exists() and not replace:
        raise BackupError(
            Text(N_("{path} exists already (--force replaces it)"), {"path": str(archive)})
        )
    if not archive.parent.is_dir():
        raise BackupError(Text(N_("no such folder: {path}"), {"path": str(archive.parent)}))
    with tempfile.TemporaryDirectory(prefix="shopbot-backup-") as scratch:
        dump = Path(scratch) / DUMPS[dialect]
        if dialect == "sqlite":
            _copy_sqlite(_sqlite_path(url), dump)
        else:
            _run_tool("pg_dump", ["--format=custom", "--file", str(dump), *_connection(url)], url)
        partial = archive.with_name(f".{archive.name}.{secrets.token_hex(4)}.part")
        try:
            images = _write_archive(partial, dump, media_dir, dialect, revision)
            os.replace(partial, archive)
        finally:
            partial.unlink(missing_ok=True)
    return BackupSummary(archive, archive.stat().st_size, revision, images)


def _restore_files(
    url: URL, dialect: str, archive: Path, media_dir: Path, *, force: bool, has_tables: bool
) -> int:
    if not archive.is_file():
        raise BackupError(Text(N_("no such file: {path}"), {"path": str(archive)}))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            return _restore_from(tar, url, dialect, archive, media_dir, force, has_tables)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile):
        raise BackupError(_not_a_backup(archive)) from None


def _restore_from(
    tar: tarfile.TarFile,
    url: URL,
    dialect: str,
    archive: Path,
    media_dir: Path,
    force: bool,
    has_tables: bool,
) -> int:
    with tempfile.TemporaryDirectory(prefix="shopbot-restore-") as scratch:
        manifest = _manifest(tar, archive)
        if manifest["database"] != dialect:
            raise BackupError(
                Text(
                    N_(
                        "this backup is of a {kind} database and DATABASE_URL names a {target} "
                        "one: restore it onto the same kind"
                    ),
                    {"kind": _KIND_NAMES[manifest["database"]], "target": _KIND_NAMES[dialect]},
                )
            )
        if has_tables and not force:
            raise BackupError(
                Text(
                    N_(
                        "the database already has tables: restore onto an empty database, "
                        "or add --force to replace them"
                    )
                )
            )
        dump = _extract_dump(tar, DUMPS[dialect], Path(scratch), archive)
        images = _media_members(tar, media_dir)
        if dialect == "sqlite":
            _restore_sqlite(dump, _sqlite_path(url))
        else:
            cleaning = ["--clean", "--if-exists"] if force else []
            _run_tool(
                "pg_restore",
                [
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--exit-on-error",
                    *cleaning,
                    *_connection(url),
                    str(dump),
                ],
                url,
            )
        _extract_media(tar, images, media_dir)
    return len(images)


_KIND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _dialect(url: URL) -> str:
    name = url.get_backend_name()
    if name not in DUMPS:
        raise BackupError(
            Text(
                N_("backups are made of SQLite and PostgreSQL databases, not {kind}"),
                {"kind": name},
            )
        )
    return name


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError(
            Text(N_("an in-memory SQLite database has nothing to back up or restore"))
        )
    return Path(url.database)


async def _ask_database(database_url: str, question: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    engine = create_engine(database_url)
    try:
        return await question(engine)
    except Exception as exc:  # the driver's own error: an unreachable server, a bad file
        raise BackupError(
            Text(N_("cannot open the database: {error}"), {"error": " ".join(str(exc).split())})
        ) from exc
    finally:
        await engine.dispose()


async def _has_tables(engine: AsyncEngine) -> bool:
    if engine.dialect.name == "sqlite":
        query = (
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        query = (
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
    async with engine.connect() as connection:
        return bool(await connection.scalar(text(query)))


def _copy_sqlite(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(Text(N_("no such database file: {path}"), {"path": str(source)}))
    try:
        with (
            contextlib.closing(sqlite3.connect(source)) as src,
            contextlib.closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)
            # One self-contained file: the copy is not left in the source's WAL mode.
            dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupError(_sqlite_failed(exc)) from exc


def _restore_sqlite(dump: Path, target: Path) -> None:
    """Copy ``dump`` into ``target`` page by page under SQLite's write lock: the target
    (created if missing) holds either its old content or the whole copy, never a mix."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            contextlib.closing(sqlite3.connect(dump)) as src,
            contextlib.closing(sqlite3.connect(target, timeout=30)) as dst,
        ):
            src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(_sqlite_failed(exc)) from exc


def _sqlite_failed(exc: sqlite3.Error) -> Text:
    return Text(N_("SQLite failed: {error}"), {"error": str(exc)})


def _connection(url: URL) -> list[str]:
    arguments = ["--dbname", url.database or "postgres"]
    if url.host:
        arguments += ["--host", url.host]
    if url.port:
        arguments += ["--port", str(url.port)]
    if url.username:
        arguments += ["--username", url.username]
    return arguments


def _run_tool(tool: str, arguments: list[str], url: URL) -> None:
    """Run ``pg_dump`` or ``pg_restore``; the password goes by ``PGPASSWORD``, never on the
    command line (where ``ps`` shows it), and a failure comes back as the tool's last words."""
    if shutil.which(tool) is None:
        raise BackupError(
            Text(
                N_(
                    "{tool} is not installed: it comes with PostgreSQL's client programs "
                    "(Debian and Ubuntu: apt-get install postgresql-client)"
                ),
                {"tool": tool},
            )
        )
    environment = dict(os.environ, PGCONNECT_TIMEOUT="10")
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    sslmode = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(sslmode, str):
        environment["PGSSLMODE"] = sslmode
    try:
        finished = subprocess.run(
            [tool, "--no-password", *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BackupError(Text(N_("{tool} did not finish in time"), {"tool": tool})) from None
    if finished.returncode != 0:
        lines = [line for line in finished.stderr.splitlines() if line.strip()]
        raise BackupError(
            Text(
                N_("{tool} failed: {error}"),
                {"tool": tool, "error": lines[-1] if lines else f"exit {finished.returncode}"},
            )
        )


def _write_archive(
    path: Path, dump: Path, media_dir: Path, dialect: str, revision: str | None
) -> int:
    images = sorted(_media_files(media_dir))
    manifest = {
        "format": FORMAT,
        "shopbot": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": dialect,
        "revision": revision,
        "images": len(images),
    }
    with tarfile.open(path, "w:gz") as tar:
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        entry = tarfile.TarInfo(MANIFEST)
        entry.size, entry.mtime = len(data), int(datetime.now(UTC).timestamp())
        tar.addfile(entry, io.BytesIO(data))
        tar.add(dump, arcname=dump.name)
        for image in images:
            with contextlib.suppress(FileNotFoundError):  # removed since it was listed
                tar.add(image, arcname=f"{MEDIA}/{image.relative_to(media_dir).as_posix()}")
    return len(images)


def _media_files(media_dir: Path) -> Iterator[Path]:
    if media_dir.is_dir():
        for path in media_dir.rglob("*"):
            # Skip files an import is writing right now (their names start with a dot).
            if path.is_file() and not path.name.startswith("."):
                yield path


def _not_a_backup(archive: Path) -> Text:
    return Text(N_("{path} is not a shopbot backup"), {"path": str(archive)})


def _manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, object]:
    try:
        member = tar.getmember(MANIFEST)
        stream = tar.extractfile(member)
        manifest = json.load(stream) if stream is not None else None
    except (KeyError, ValueError, tarfile.TarError, OSError):
        raise BackupError(_not_a_backup(archive)) from None
    if not isinstance(manifest, dict) or manifest.get("database") not in DUMPS:
        raise BackupError(_not_a_backup(archive))
    if manifest.get("format") != FORMAT:
        raise BackupError(
            Text(
                N_("{path} was made by another version of shopbot's backups ({format})"),
                {"path": str(archive), "format": str(manifest.get("format"))},
            )
        )
    return manifest


def _extract_dump(tar: tarfile.TarFile, name: str, scratch: Path, archive: Path) -> Path:
    try:
        tar.extract(tar.getmember(name), scratch, filter="data")
    except (KeyError, tarfile.TarError, OSError):
        raise BackupError(_not_a_backup(archive)) from None
    return scratch / name


def _media_members(tar: tarfile.TarFile, media_dir: Path) -> list[tarfile.TarInfo]:
    """The archive's images, named as they go under ``media_dir``, checked before anything
    is written: ``tarfile``'s ``data`` filter refuses links, device files and paths that
    would land outside the folder."""
    members = []
    for member in tar.getmembers():
        if not (member.isfile() and member.name.startswith(f"{MEDIA}/")):
            continue
        image = member.replace(name=member.name.removeprefix(f"{MEDIA}/"), deep=False)
        try:
            members.append(tarfile.data_filter(image, str(media_dir)))
        except tarfile.FilterError:
            raise BackupError(
                Text(N_("the backup holds a file it may not write: {name}"), {"name": member.name})
            ) from None
    return members


def _extract_media(tar: tarfile.TarFile, members: list[tarfile.TarInfo], media_dir: Path) -> None:
    media_dir.mkdir(parents=True, exist_ok=True)
    for member in members:
        tar.extract(member, media_dir, filter="data")
