"""The ``shopbot`` command: migrate, import a catalogue, back up and restore, rebuild the
search index, run the bot.

Only the settings are imported up front; each command imports what it needs once they are
read, so a missing or malformed setting is reported at once, not after seconds of imports.
It speaks the language of ``SHOPBOT_LANGUAGE`` or ``LANG`` (Russian by default, like the
bot): its own texts and the importer's through the core catalogues (:mod:`shopbot.i18n`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from shopbot.config import Settings, SettingsError, load_settings
from shopbot.i18n import N_, _, current_language, environment_language, ngettext, set_language
from shopbot.logs import TEXT_FORMAT, RateLimitFilter, configure_logging

if TYPE_CHECKING:
    from shopbot.importer import ImportReport
    from shopbot.importer.base import ProblemList


# argparse's own words, which it looks up through its module's ``_`` (see _argparse_words).
ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)


def main(argv: list[str] | None = None) -> int:
    set_language(environment_language())
    with _argparse_words():
        args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=TEXT_FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Out of file descriptors, asyncio logs a failed accept() many times a second.
    logging.getLogger("asyncio").addFilter(
        RateLimitFilter("socket.accept() out of system resource")
    )
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"shopbot: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.secret_values())
    return args.handler(settings, args)


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line reported in one line."""

    def error(self, message: str) -> NoReturn:
        hint = _("see {command} --help").format(command=self.prog)
        self.exit(2, f"{self.prog}: {message} ({hint})\n")


@contextmanager
def _argparse_words() -> Iterator[None]:
    """argparse's words ("usage:", "show this help message and exit", its errors) in the
    command line's language while the parser is built and used: argparse calls the ``_``
    and ``ngettext`` of its module, which are the stdlib's (no catalogue) until set here."""
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = _, ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="shopbot",
        description=_("An open-source Telegram shop. Settings come from the environment or .env."),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate = commands.add_parser(
        "migrate",
        help=_("bring the database to the latest schema"),
        description=_("Apply all database migrations (DATABASE_URL; SQLite file by default)."),
    )
    migrate.set_defaults(handler=_migrate)

    importer = commands.add_parser(
        "import",
        help=_("import a catalogue CSV"),
        description=_(
            "Import products from a CSV file (sku, name, price, stock, category, description, "
            "image, active, or in Russian: Артикул, Наименование, Цена, Остаток, Категория, "
            "Описание, Изображение, Активен). UTF-8 or Windows-1251; comma, semicolon or tab. "
            "All or nothing: "
            "any bad row and nothing is written; every problem is listed with its line. "
            "Columns the file lacks are left alone. Stock is the stock for sale: in a file "
            "from /export a changed cell becomes the stock less what orders took since the "
            "export, an unchanged one changes nothing (README: The catalogue CSV)."
        ),
    )
    importer.add_argument(
        "path", type=Path, help=_("the CSV file; image paths resolve from its folder")
    )
    importer.add_argument(
        "--dry-run", action="store_true", help=_("check everything, write nothing")
    )
    importer.add_argument(
        "--changes",
        type=Path,
        default=None,
        metavar="CSV",
        help=_(
            "with --dry-run, write every change to this CSV file (by default only when there "
            "are more than 20: NAME-changes.csv in the current folder)"
        ),
    )
    importer.add_argument(
        "--deactivate-missing",
        action="store_true",
        help=_("hide products whose SKU is not in the file"),
    )
    importer.set_defaults(handler=_import)

    faq_importer = commands.add_parser(
        "import-faq",
        help=_("import the common questions (FAQ) from a CSV"),
        description=_(
            "Replace the FAQ shoppers see under Help with the file's: columns question, "
            "answer, topic (or Вопрос, Ответ, Тема), UTF-8 or Windows-1251, comma, semicolon "
            "or tab. Questions are matched as written: new ones are added, changed ones "
            "updated, the ones the file lacks removed. All or nothing: any bad row and "
            "nothing is written; every problem is listed with its line."
        ),
    )
    faq_importer.add_argument("path", type=Path, help=_("the FAQ CSV file"))
    faq_importer.add_argument(
        "--dry-run", action="store_true", help=_("check everything, write nothing")
    )
    faq_importer.set_defaults(handler=_import_faq)

    exporter = commands.add_parser(
        "export",
        help=_("export the catalogue as CSV, to edit and import back"),
        description=_(
            "Write every product to a CSV file in the import's format (UTF-8 with BOM, "
            "semicolons), its header in the language of the last import unless "
            "EXPORT_LANGUAGE or --language says otherwise. Sales made while you edit it "
            "stay sold when it is imported back."
        ),
    )
    exporter.add_argument(
        "path",
        type=Path,
        nargs="?",
        default=None,
        help=_("the file to write (catalogue-YYYY-MM-DD.csv here by default)"),
    )
    exporter.add_argument(
        "--language", choices=("ru", "en"), default=None, help=_("the header's language")
    )
    exporter.set_defaults(handler=_export)

    backup = commands.add_parser(
        "backup",
        help=_("write a copy of the database and the images into one file"),
        description=_(
            "Write a consistent copy of the database (SQLite: its online backup; "
            "PostgreSQL: pg_dump, which must be installed) and of MEDIA_DIR into one "
            ".tar.gz archive. Safe while the bot runs."
        ),
    )
    backup.add_argument("path", type=Path, help=_("the archive to write"))
    backup.add_argument("--force", action="store_true", help=_("replace the archive if it exists"))
    backup.set_defaults(handler=_backup)

    restore = commands.add_parser(
        "restore",
        help=_("bring back a backup onto an empty database"),
        description=_(
            "Restore an archive written by shopbot backup: the database (of the same kind as "
            "DATABASE_URL's, which must have no tables) and its images into MEDIA_DIR. "
            "PostgreSQL needs pg_restore. Run shopbot migrate afterwards if the backup is "
            "older than this version."
        ),
    )
    restore.add_argument("path", type=Path, help=_("the archive to restore"))
    restore.add_argument(
        "--force",
        action="store_true",
        help=_("restore over a database that has tables: they are replaced by the backup's"),
    )
    restore.set_defaults(handler=_restore)

    reindex = commands.add_parser(
        "reindex",
        help=_("rebuild the search index from the products"),
        description=_(
            "Analyse every product's SKU, name, keywords, category and description again and "
            "store what search finds it by. Imports and the bot's commands keep the index up "
            "to date by themselves: run this after an upgrade, or after products were changed "
            "in the database directly."
        ),
    )
    reindex.set_defaults(handler=_reindex)

    run = commands.add_parser(
        "run",
        help=_("run the bot (long polling) and its web server"),
        description=_("Run the bot with long polling against Telegram (BOT_TOKEN required)."),
    )
    run.set_defaults(handler=_run)

    webhook = commands.add_parser(
        "webhook",
        help=_("show or remove the bot's Telegram webhook"),
        description=_(
            "info: where Telegram sends updates, how many wait, the last delivery error. "
            "delete: stop webhook delivery (e.g. to go back to polling); a replica started "
            "with TELEGRAM_WEBHOOK_URL sets it again."
        ),
    )
    webhook.add_argument("action", choices=("info", "delete"))
    webhook.add_argument(
        "--drop-pending",
        action="store_true",
        help=_("with delete: also throw away the updates waiting to be delivered"),
    )
    webhook.set_defaults(handler=_webhook)

    demo = commands.add_parser(
        "demo",
        help=_("try the whole shop in a browser chat: no Telegram, no payment account"),
        description=_(
            "Run the real bot against a built-in Telegram emulator and a test YooKassa, with a "
            "chat page at http://127.0.0.1:PORT. Data lives in --data-dir (its database is "
            "recreated and the sample catalogue imported on every start, unless --keep). "
            "Ctrl-C stops it."
        ),
    )
    demo.add_argument("--port", type=_port, default=8080, help=_("the chat page's port (8080)"))
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=Path("shopbot-demo"),
        help=_("folder for the demo database and images (./shopbot-demo)"),
    )
    demo.add_argument(
        "--catalog",
        type=Path,
        default=None,
        help=_("catalogue CSV to import (default: the sample catalog/products.csv)"),
    )
    demo.add_argument(
        "--language",
        choices=("ru", "en"),
        default="ru",
        help=_("the language of the demo's page and people (ru)"),
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help=_("go on with the last run's shop (orders, stock, carts) instead of a fresh one"),
    )
    demo.set_defaults(handler=_demo)
    return parser


def _port(value: str) -> int:
    """A TCP port for argparse: its error is one line, not an OverflowError from bind()."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("not a port number: {value}").format(value=repr(value))
        ) from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            _("a port is a number from 1 to 65535, not {port}").format(port=port)
        )
    return port


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from shopbot.db import create_engine, current_revision, migrate

    async def go() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(go())
    print(_("database is at revision {revision}").format(revision=revision))
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from shopbot.db import create_engine, create_session_factory, migrate
    from shopbot.importer import ImportOptions, import_file
    from shopbot.importer.exclusive import clear_leftovers

    if not args.path.is_file():
        print(_("shopbot import: no such file: {path}").format(path=args.path), file=sys.stderr)
        return 2
    options = ImportOptions(
        media_dir=settings.media_dir,
        dry_run=args.dry_run,
        deactivate_missing=args.deactivate_missing,
        allow_private_urls=settings.import_allow_private_urls,
        actor="cli",
        zone=settings.shop_timezone,
    )
    bar = _ProgressBar() if sys.stderr.isatty() else None

    async def go():
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            sessions = create_session_factory(engine)
            await clear_leftovers(sessions, settings.media_dir)
            return await import_file(sessions, args.path, options, progress=bar)
        finally:
            await engine.dispose()

    report = asyncio.run(go())
    if bar:
        bar.finish()
    language = current_language()
    for problem in report.warnings:
        print(_("warning: {problem}").format(problem=problem.describe(language)), file=sys.stderr)
    if _failed(report.errors, language):
        return 1
    print(_summary(report))
    if report.dry_run:
        return _show_changes(report, args)
    return 0


def _failed(errors: ProblemList, language: str) -> bool:
    """Print an import's problems (how many more were not listed), then that nothing was
    changed; False when there are none."""
    for problem in errors:
        print(_("error: {problem}").format(problem=problem.describe(language)), file=sys.stderr)
    if errors.unlisted:
        print(
            ngettext(
                "error: … and {n} more, not listed",
                "error: … and {n} more, not listed",
                errors.unlisted,
            ).format(n=errors.unlisted),
            file=sys.stderr,
        )
    if not errors.total:
        return False
    print(
        ngettext(
            "import failed: {n} problem; nothing was changed",
            "import failed: {n} problems; nothing was changed",
            errors.total,
        ).format(n=errors.total),
        file=sys.stderr,
    )
    return True


def _import_faq(settings: Settings, args: argparse.Namespace) -> int:
    from shopbot.db import create_engine, create_session_factory, migrate
    from shopbot.services.faq import import_faq

    try:
        data = args.path.read_bytes()
    except OSError:
        print(_("shopbot import-faq: no such file: {path}").format(path=args.path), file=sys.stderr)
        return 2

    async def go():
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            return await import_faq(create_session_factory(engine), data, dry_run=args.dry_run)
        finally:
            await engine.dispose()

    report = asyncio.run(go())
    language = current_language()
    if _failed(report.errors, language):
        return 1
    print(report.summary().render(language))
    return 0


CHANGES_ON_SCREEN = 20


def _show_changes(report: ImportReport, args: argparse.Namespace) -> int:
    """What the import would change: the first products on screen, all of them in a CSV
    when there are more (or when ``--changes`` names one)."""
    from shopbot.importer.changes import change_line, changes_csv

    language = current_language()
    if report.changes:
        print(_("What changes:"))
    for change in report.changes[:CHANGES_ON_SCREEN]:
        print(f"  {change_line(change, language)}")
    path: Path | None = args.changes
    if path is None and len(report.changes) > CHANGES_ON_SCREEN:
        path = Path(f"{args.path.stem}-changes.csv")
    if path is None:
        return 0
    try:
        path.write_bytes(changes_csv(report.changes, language))
    except OSError as exc:
        message = _("shopbot import: cannot write {path}: {error}")
        print(message.format(path=path, error=exc.strerror or exc), file=sys.stderr)
        return 1
    more = len(report.changes) - CHANGES_ON_SCREEN
    if more > 0:
        print(
            ngettext(
                "  … and {n} more product; every change is in {path}",
                "  … and {n} more products; every change is in {path}",
                more,
            ).format(n=more, path=path)
        )
    else:
        print(_("every change is in {path}").format(path=path))
    return 0


def _summary(report: ImportReport) -> str:
    if report.dry_run:
        template = _(
            "{rows} rows; would be written: {created} created, {updated} updated, "
            "{deactivated} hidden; {unchanged} unchanged; images: {processed} processed, "
            "{reused} reused; warnings: {warnings}"
        )
    else:
        template = _(
            "{rows} rows; written: {created} created, {updated} updated, {deactivated} hidden; "
            "{unchanged} unchanged; images: {processed} processed, {reused} reused; "
            "warnings: {warnings}"
        )
    return template.format(
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        deactivated=report.deactivated,
        unchanged=report.unchanged,
        processed=report.images_processed,
        reused=report.images_reused,
        warnings=len(report.warnings),
    )


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from shopbot.db import create_engine, create_session_factory, migrate
    from shopbot.models import utcnow
    from shopbot.services.export import catalogue_csv, catalogue_language

    path: Path = args.path or Path(f"catalogue-{utcnow():%Y-%m-%d}.csv")
    setting = args.language or settings.export_language

    async def go() -> bytes:
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            async with create_session_factory(engine)() as session:
                language = await catalogue_language(session, setting, current_language())
                return await catalogue_csv(session, language, settings.shop_timezone)
        finally:
            await engine.dispose()

    data = asyncio.run(go())
    try:
        path.write_bytes(data)
    except OSError as exc:
        message = _("shopbot export: cannot write {path}: {error}")
        print(message.format(path=path, error=exc.strerror or exc), file=sys.stderr)
        return 1
    print(_("catalogue written to {path}").format(path=path))
    return 0


class _ProgressBar:
    """A one-line progress bar on stderr for terminals."""

    width = 30

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // total if total else self.width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}")
        sys.stderr.flush()

    def finish(self) -> None:
        sys.stderr.write("\n")


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from shopbot.backup import BackupError, create_backup

    try:
        summary = asyncio.run(
            create_backup(settings.database_url, settings.media_dir, args.path, replace=args.force)
        )
    except BackupError as exc:
        print(f"shopbot backup: {exc.text.render(current_language())}", file=sys.stderr)
        return 1
    images = ngettext("{n} image", "{n} images", summary.images).format(n=summary.images)
    print(
        _("backup written: {path} ({size} MB; database at revision {revision}; {images})").format(
            path=summary.path,
            size=f"{summary.size / 1_000_000:.1f}",
            revision=summary.revision or "-",
            images=images,
        )
    )
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from shopbot.backup import BackupError, restore_backup

    try:
        summary = asyncio.run(
            restore_backup(settings.database_url, settings.media_dir, args.path, force=args.force)
        )
    except BackupError as exc:
        print(f"shopbot restore: {exc.text.render(current_language())}", file=sys.stderr)
        return 1
    images = ngettext("{n} image", "{n} images", summary.images).format(n=summary.images)
    print(
        _("restored {path}: database at revision {revision}; {images}").format(
            path=args.path, revision=summary.revision or "-", images=images
        )
    )
    if summary.revision != summary.head:
        print(
            _("this version of shopbot expects revision {head}: run shopbot migrate").format(
                head=summary.head
            )
        )
    return 0


def _reindex(settings: Settings, _args: argparse.Namespace) -> int:
    from shopbot.db import create_engine, create_session_factory, migrate
    from shopbot.search.documents import reindex
    from shopbot.search.meaning import MeaningUnavailable, compute_vectors, create_embedder

    try:
        embedder = create_embedder(settings)
    except MeaningUnavailable as exc:
        problem = exc.text.render(current_language())
        print(_("shopbot reindex: {problem}").format(problem=problem), file=sys.stderr)
        return 2

    async def go() -> tuple[int, int | None]:
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            async with create_session_factory(engine)() as session:
                written = await reindex(session)
                if embedder is None:
                    return written, None
                return written, await compute_vectors(session, embedder)
        finally:
            if embedder is not None:
                await embedder.close()
            await engine.dispose()

    written, vectors = asyncio.run(go())
    print(
        ngettext(
            "search index rebuilt: {n} product", "search index rebuilt: {n} products", written
        ).format(n=written)
    )
    if vectors is not None:
        print(_("meaning vectors computed: {n} (the others were up to date)").format(n=vectors))
    return 0


def _demo(_settings: Settings, args: argparse.Namespace) -> int:
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    try:
        from shopbot.demo.runner import DemoError, DemoOptions, run_demo

        options = DemoOptions(args.port, args.data_dir, args.catalog, args.language, args.keep)
        try:
            asyncio.run(run_demo(options))
        except DemoError as exc:
            print(f"shopbot demo: {exc}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print(_("shopbot demo: stopped while starting"), file=sys.stderr)
    return 0


def _webhook(settings: Settings, args: argparse.Namespace) -> int:
    if settings.bot_token is None:
        print(
            _("shopbot: invalid setting BOT_TOKEN: required to manage the webhook"),
            file=sys.stderr,
        )
        return 2
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

    from shopbot.bot.factory import create_bot

    async def go() -> list[str]:
        bot = create_bot(settings)
        try:
            if args.action == "delete":
                await bot.delete_webhook(drop_pending_updates=args.drop_pending)
                if args.drop_pending:
                    return [_("webhook deleted and the pending updates dropped")]
                return [_("webhook deleted")]
            info = await bot.get_webhook_info()
        finally:
            await bot.session.close()
        lines = [
            _("url: {url}").format(url=info.url or _("(none: the bot polls)")),
            _("pending updates: {count}").format(count=info.pending_update_count),
        ]
        if info.max_connections:
            lines.append(_("max connections: {count}").format(count=info.max_connections))
        if info.allowed_updates:
            lines.append(_("update kinds: {kinds}").format(kinds=", ".join(info.allowed_updates)))
        if info.last_error_message:
            when = info.last_error_date.isoformat() if info.last_error_date else "?"
            lines.append(
                _("last error: {error} ({when})").format(error=info.last_error_message, when=when)
            )
        return lines

    try:
        lines = asyncio.run(go())
    except (TelegramNetworkError, TelegramAPIError) as exc:
        print(f"shopbot webhook: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _run(settings: Settings, _args: argparse.Namespace) -> int:
    if settings.bot_token is None:
        print(_("shopbot: invalid setting BOT_TOKEN: required to run the bot"), file=sys.stderr)
        return 2
    # The bot (aiogram above all) takes seconds to import: only once the settings are known
    # to be enough to run it.
    from shopbot.app import run_bot
    from shopbot.errors import StartupError

    try:
        asyncio.run(run_bot(settings))
    except StartupError as exc:
        print(f"shopbot: {exc.render(current_language())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before polling took over the signals
        print(_("shopbot: stopped while starting"), file=sys.stderr)
        return 130
    return 0
