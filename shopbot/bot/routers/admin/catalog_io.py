"""Catalogue import through the chat (dry run, then Apply / Cancel) and CSV exports.

A checked file waits under ``MEDIA_DIR/import/pending/<token>.csv``; the buttons carry only
the token. Image paths in the file resolve inside ``MEDIA_DIR/import`` and nowhere else.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from datetime import timedelta
from io import BytesIO
from pathlib import Path

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Document, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.clock import when
from shopbot.bot.routers.admin.callbacks import AdminFileCb, AdminImportCb, ImportAction
from shopbot.bot.routers.admin.keyboards import import_keyboard, import_offer_keyboard
from shopbot.bot.routers.admin.products import actor
from shopbot.bot.routers.admin.texts import (
    CHANGES_IN_MESSAGE,
    ERRORS_IN_MESSAGE,
    import_errors,
    import_summary,
    order_csv_labels,
    problem_line,
    unlisted_errors,
)
from shopbot.bot.routers.filters import Magic
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.db import create_session_factory
from shopbot.importer import ImportOptions, ImportReport, import_catalog
from shopbot.importer.base import MB
from shopbot.importer.changes import changes_csv
from shopbot.importer.columns import header_name
from shopbot.models import utcnow
from shopbot.services.export import catalogue_csv, catalogue_language, orders_csv
from shopbot.times import FILE_DATE

MAX_IMPORT_BYTES = 5 * MB
CSV_TYPES = frozenset({"text/csv", "text/comma-separated-values", "application/csv"})
_TOKEN = re.compile(r"[0-9a-f]{16}")
MAX_EXPORT_DAYS = 3650
PENDING_TTL_SECONDS = 24 * 3600


class ImportStates(StatesGroup):
    waiting_file = State()


def pending_file(settings: Settings, token: str, prefix: str = "") -> Path:
    return settings.media_dir / "import" / "pending" / f"{prefix}{token}.csv"


async def take_pending(
    query: CallbackQuery, settings: Settings, action: ImportAction, token: str, prefix: str = ""
) -> bytes | None:
    """An Apply / Cancel press under a dry run: Cancel drops the parked file and says so;
    Apply takes the file's bytes, once (a second press, a forged token: None, answered)."""
    path = pending_file(settings, token, prefix) if _TOKEN.fullmatch(token) else None
    if action is ImportAction.CANCEL:
        if path is not None:
            await asyncio.to_thread(path.unlink, True)
        await show(query, _("Import cancelled. Nothing was changed."))
        await query.answer()
        return None
    data = await asyncio.to_thread(claim, path) if path is not None else None
    if data is None:
        await query.answer(_("This import was already applied or cancelled."), show_alert=True)
        return None
    await query.answer(_("Importing…"))
    return data


def _options(settings: Settings, user_id: int, *, dry_run: bool) -> ImportOptions:
    return ImportOptions(
        media_dir=settings.media_dir,
        base_dir=settings.media_dir / "import",
        dry_run=dry_run,
        allow_urls=True,
        allow_private_urls=settings.import_allow_private_urls,
        max_file_bytes=MAX_IMPORT_BYTES,
        actor=actor(user_id),
        zone=settings.shop_timezone,
    )


def park(path: Path, data: bytes) -> None:
    """Keep a checked file until Apply; files of checks never applied go after a day."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - PENDING_TTL_SECONDS
    for stale in path.parent.glob("*.csv"):
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)
    path.write_bytes(data)


def claim(path: Path) -> bytes | None:
    """Take a pending file exactly once (a second Apply finds nothing)."""
    claimed = path.with_suffix(".applying")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        return None
    try:
        return claimed.read_bytes()
    finally:
        claimed.unlink(missing_ok=True)


async def ask_for_file(message: Message, state: FSMContext) -> None:
    await state.set_state(ImportStates.waiting_file)
    await message.answer(_("Send the catalogue as a CSV file (at most 5 MB)."))


def _refusal(document: Document) -> str | None:
    name = (document.file_name or "").lower()
    if not name.endswith(".csv") and document.mime_type not in CSV_TYPES:
        return _(
            "That is not a CSV file. In Excel: File → Save as → CSV, then send it with /import."
        )
    if document.file_size is not None and document.file_size > MAX_IMPORT_BYTES:
        return _("The file is {size:.1f} MB; an import takes at most 5 MB.").format(
            size=document.file_size / MB
        )
    return None


async def receive_file(
    message: Message, bot: Bot, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    await state.clear()
    assert message.document is not None
    await _dry_run(message, message.document, bot, session, settings)


async def offer_import(message: Message) -> None:
    """A file sent without /import: a catalogue is offered a dry run, anything else is told
    what the import takes."""
    assert message.document is not None
    refusal = _refusal(message.document)
    if refusal is not None:
        await message.answer(refusal)
        return
    await message.reply(
        _("This looks like a catalogue. Check it for an import? Nothing changes before Apply."),
        reply_markup=import_offer_keyboard(),
    )


async def import_offered(
    query: CallbackQuery, bot: Bot, session: AsyncSession, settings: Settings
) -> None:
    """ "Import this file": the dry run of the file the offer replies to, as /import does."""
    offer = query.message
    document = (
        offer.reply_to_message.document
        if isinstance(offer, Message) and offer.reply_to_message is not None
        else None
    )
    if not isinstance(offer, Message) or document is None:
        await query.answer(_("The file is gone. Please send it again."), show_alert=True)
        return
    await query.answer(_("Checking…"))
    await show(query, offer.html_text)  # the button goes: the answer follows below
    await _dry_run(offer, document, bot, session, settings)


async def _dry_run(
    chat: Message, document: Document, bot: Bot, session: AsyncSession, settings: Settings
) -> None:
    """Download ``document``, check it without writing, and answer in ``chat``'s chat with
    the summary and Apply / Cancel, or the errors."""
    refusal = _refusal(document)
    if refusal is not None:
        await chat.answer(refusal)
        return
    try:
        downloaded = await bot.download(document, destination=BytesIO())
    except TelegramBadRequest as exc:
        await chat.answer(_("Could not download the file: {error}").format(error=exc.message))
        return
    assert downloaded is not None
    data = downloaded.getvalue()
    factory = create_session_factory(session.bind)  # type: ignore[arg-type]
    report = await import_catalog(factory, data, _options(settings, chat.chat.id, dry_run=True))
    if not report.ok:
        await _send_errors(chat, report)
        return
    token = secrets.token_hex(8)
    await asyncio.to_thread(park, pending_file(settings, token), data)
    if len(report.changes) > CHANGES_IN_MESSAGE:  # the summary lists the first ones only
        listing = changes_csv(report.changes, get_i18n().current_locale)
        await chat.answer_document(BufferedInputFile(listing, filename="import-changes.csv"))
    await chat.answer(import_summary(report), reply_markup=import_keyboard(token))


async def _send_errors(message: Message, report: ImportReport) -> None:
    await message.answer(import_errors(report))
    if report.errors.total > ERRORS_IN_MESSAGE:
        lines = [problem_line(problem) for problem in report.errors]
        if report.errors.unlisted:
            lines.append(unlisted_errors(report.errors.unlisted))
        listing = "\n".join(lines) + "\n"
        await message.answer_document(
            BufferedInputFile(listing.encode("utf-8"), filename="import-errors.txt")
        )


async def import_button(
    query: CallbackQuery, callback_data: AdminImportCb, session: AsyncSession, settings: Settings
) -> None:
    data = await take_pending(query, settings, callback_data.action, callback_data.token)
    if data is None:
        return
    factory = create_session_factory(session.bind)  # type: ignore[arg-type]
    report = await import_catalog(
        factory, data, _options(settings, query.from_user.id, dry_run=False)
    )
    if report.ok:
        await show(query, import_summary(report))
    elif isinstance(query.message, Message):
        await show(query, _("The import was not applied."))
        await _send_errors(query.message, report)


async def export_catalogue(
    target: Message | CallbackQuery, session: AsyncSession, settings: Settings
) -> None:
    """The catalogue with the header words the owner last imported with (or EXPORT_LANGUAGE;
    the owner's language before any import)."""
    language = await catalogue_language(
        session, settings.export_language, get_i18n().current_locale
    )
    data = await catalogue_csv(session, language, settings.shop_timezone)
    name = f"catalogue-{when(utcnow(), FILE_DATE)}.csv"
    chat_id = target.chat.id if isinstance(target, Message) else target.from_user.id
    assert target.bot is not None
    caption = _(
        "The catalogue. Edit it and send it back with /import. Stock is what is for sale: "
        "a number you change becomes the stock, less what orders take after this export; "
        "a number you leave changes nothing. Keep the “{exported}” and “{export_id}” columns "
        "as they are."
    ).format(
        exported=header_name("exported_stock", language),
        export_id=header_name("export_id", language),
    )
    await target.bot.send_document(chat_id, BufferedInputFile(data, filename=name), caption=caption)


async def export_command(message: Message, session: AsyncSession, settings: Settings) -> None:
    await export_catalogue(message, session, settings)


async def export_orders_command(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    raw = (command.args or "30").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_EXPORT_DAYS:
        await message.answer(_("Usage: /export_orders [days], e.g. /export_orders 7 (30 if none)."))
        return
    days = int(raw)
    since = utcnow() - timedelta(days=days)
    data = await orders_csv(session, since, settings.shop_timezone, order_csv_labels())
    await message.answer_document(
        BufferedInputFile(data, filename=f"orders-{days}d-{when(utcnow(), FILE_DATE)}.csv"),
        caption=_("Orders of the last {days} days.").format(days=days),
    )


def register(router: Router) -> None:
    router.message.register(receive_file, Command("import"), Magic(F.document))
    router.message.register(ask_for_file, Command("import"))
    router.message.register(receive_file, StateFilter(ImportStates.waiting_file), Magic(F.document))
    # Last of the file handlers: a file that came with neither /import nor its prompt.
    router.message.register(offer_import, Magic(F.document))
    router.callback_query.register(import_offered, AdminFileCb.filter())
    router.callback_query.register(import_button, AdminImportCb.filter())
    router.message.register(export_command, Command("export"))
    router.message.register(export_orders_command, Command("export_orders"))
