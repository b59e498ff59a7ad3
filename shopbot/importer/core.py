"""The import as a whole: check everything first, then write all of it or nothing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import changed, unit_of_work
from shopbot.i18n import N_, Text
from shopbot.importer.apply import ImageList, Plan, make_plan, write_plan
from shopbot.importer.base import MB, ImportOptions, ImportProblem, ImportReport
from shopbot.importer.exclusive import lock_imports, staging_folder
from shopbot.importer.images import ImageLoader, ImageRejected, StoredImage, place, remove
from shopbot.importer.reader import Table, read_table
from shopbot.models import utcnow
from shopbot.search.documents import write_documents
from shopbot.services.catalogue import CATALOGUE
from shopbot.services.preferences import HEADER_LANGUAGE, remember

Progress = Callable[[int, int], None]


async def import_file(
    session_factory: async_sessionmaker[AsyncSession],
    path: Path,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV file; image paths resolve from its folder unless ``options.base_dir``."""
    limit = options.max_file_bytes

    def read() -> bytes:
        with path.open("rb") as file:
            return file.read(limit + 1)  # enough to tell that it is too large

    data = await asyncio.to_thread(read)
    if options.base_dir is None:
        options = dataclasses.replace(options, base_dir=path.parent)
    return await import_catalog(session_factory, data, options, progress=progress)


async def import_catalog(
    session_factory: async_sessionmaker[AsyncSession],
    data: bytes,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a catalogue CSV given as bytes. All or nothing: any error and nothing is written,
    neither to the database nor to the media folder, and the report lists every problem.

    ``progress(done, total)`` counts checked rows plus distinct pictures loaded; it is called
    after the rows are read, after each picture and once at the end.
    """
    report = ImportReport(dry_run=options.dry_run)
    if len(data) > options.max_file_bytes:
        report.errors.add(
            ImportProblem(
                None,
                None,
                "file_too_large",
                Text(
                    N_("The file is larger than {size} MB, the most an import accepts."),
                    {"size": f"{options.max_file_bytes / MB:g}"},
                ),
            )
        )
        return report
    # 100k rows take a second: off the loop
    table = await asyncio.to_thread(read_table, data, options.zone)
    report.rows = len(table.rows)
    report.header_language = table.header_language
    report.warnings = table.warnings
    report.errors = table.errors

    references = [reference for row in table.rows for reference in row.images]
    total = len(table.rows) + len(set(references))
    done = 0

    def advance(count: int = 1) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    advance(len(table.rows))
    with staging_folder() as staging:
        loader = ImageLoader(options, staging)
        loaded = await loader.load_all(references, advance)
        images = _images_by_line(table, loaded, report)
        report.errors.sort(key=lambda problem: problem.line or 0)
        if report.errors:
            return report
        stored = [image for image in loaded.values() if isinstance(image, StoredImage)]
        report.images_processed = len(stored)
        report.images_reused = _count_reused(stored, options.media_dir)
        plan = await _apply(session_factory, table, images, stored, options)
    if plan.errors:
        for problem in sorted(plan.errors, key=lambda problem: problem.line or 0):
            report.errors.add(problem)
        return report
    report.created = len(plan.created)
    report.updated = len(plan.updated)
    report.unchanged = plan.unchanged
    report.deactivated = len(plan.deactivate)
    report.changes = plan.changes
    if progress is not None:
        progress(total, total)
    return report


def _images_by_line(
    table: Table, loaded: dict[str, StoredImage | ImageRejected], report: ImportReport
) -> dict[int, ImageList]:
    """Each row's pictures as (stored path, reference); problems go to the report."""
    images: dict[int, ImageList] = {}
    for row in table.rows:
        if not row.images:
            continue
        found: ImageList = []
        for reference in row.images:
            result = loaded[reference]
            if isinstance(result, ImageRejected):
                text = Text(
                    N_("Image “{image}” {reason}."), {"image": reference, "reason": result.text}
                )
                report.errors.add(ImportProblem(row.line, "image", result.code, text))
            else:
                found.append((result.path, reference))
        images[row.line] = found
    return images


def _count_reused(stored: list[StoredImage], media_dir: Path) -> int:
    seen: set[str] = set()
    reused = 0
    for image in stored:
        if image.path in seen or (media_dir / image.path).exists():
            reused += 1
        seen.add(image.path)
    return reused


async def _apply(
    session_factory: async_sessionmaker[AsyncSession],
    table: Table,
    images: dict[int, ImageList],
    stored: list[StoredImage],
    options: ImportOptions,
) -> Plan:
    async with session_factory() as session:
        if options.dry_run:
            return await make_plan(
                await session.connection(),
                table.rows,
                table.columns,
                images,
                deactivate_missing=options.deactivate_missing,
                describe=True,
            )
        created: list[Path] = []
        try:
            async with unit_of_work(session):
                connection = await session.connection()
                await lock_imports(connection)
                plan = await make_plan(
                    connection,
                    table.rows,
                    table.columns,
                    images,
                    deactivate_missing=options.deactivate_missing,
                )
                if plan.errors:
                    return plan
                now = utcnow()
                await write_plan(connection, plan, actor=options.actor, now=now)
                await write_documents(session)
                await remember(connection, HEADER_LANGUAGE, table.header_language, now=now)
                changed(session, CATALOGUE)
                # Files last, then the commit: a failure anywhere takes the files back too.
                await asyncio.to_thread(place, stored, options.media_dir, created)
        except BaseException:
            remove(created)
            raise
        return plan
