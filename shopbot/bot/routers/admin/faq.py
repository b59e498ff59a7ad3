"""The owner keeps the FAQ in the chat: /faq lists the entries (each with edit and delete
buttons) and adds one (topic, question, answer); /faq_import checks a CSV (dry run, then
Apply / Cancel) and /faq_export gives the FAQ back as one."""

from __future__ import annotations

import asyncio
import secrets
from io import BytesIO

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.clock import when
from shopbot.bot.render import TEXT_LIMIT, Typed, compose, h
from shopbot.bot.routers.admin.callbacks import (
    AdminFaqCb,
    AdminFaqImportCb,
    FaqAdminAction,
    ImportAction,
)
from shopbot.bot.routers.admin.catalog_io import (
    MAX_IMPORT_BYTES,
    park,
    pending_file,
    take_pending,
)
from shopbot.bot.routers.admin.texts import ERRORS_IN_MESSAGE, problem_line
from shopbot.bot.routers.filters import Magic, plain_text
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.db import create_session_factory
from shopbot.importer.base import MB, ProblemList
from shopbot.models import FaqEntry, utcnow
from shopbot.services import faq
from shopbot.times import FILE_DATE

PAGE_SIZE = 10
FAQ_PREFIX = "faq-"  # parked FAQ files beside the catalogue's


class FaqForm(StatesGroup):
    waiting_file = State()
    topic = State()
    question = State()
    answer = State()
    new_answer = State()  # an entry's answer replaced; its id in data


def _cb(action: FaqAdminAction, entry_id: int = 0, page: int = 0) -> str:
    return AdminFaqCb(action=action, entry_id=entry_id, page=page).pack()


async def list_entries(target: Message | CallbackQuery, session: AsyncSession, page: int) -> None:
    entries = await faq.all_entries(session)
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(page, pages - 1)
    shown = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [
        [
            InlineKeyboardButton(
                text=f"{entry.topic[:20]} · {entry.question[:40]}",
                callback_data=_cb(FaqAdminAction.SHOW, entry.id, page),
            )
        ]
        for entry in shown
    ]
    turn = []
    if page > 0:
        turn.append(
            InlineKeyboardButton(text="◀", callback_data=_cb(FaqAdminAction.LIST, page=page - 1))
        )
    if page < pages - 1:
        turn.append(
            InlineKeyboardButton(text="▶", callback_data=_cb(FaqAdminAction.LIST, page=page + 1))
        )
    if turn:
        rows.append(turn)
    rows.append(
        [InlineKeyboardButton(text=_("➕ Add a question"), callback_data=_cb(FaqAdminAction.ADD))]
    )
    text = _("❓ <b>FAQ</b>: {n} questions. /faq_export gives them as a CSV.").format(
        n=len(entries)
    )
    await show(target, text, InlineKeyboardMarkup(inline_keyboard=rows))


async def faq_command(message: Message, session: AsyncSession, state: FSMContext) -> None:
    await state.clear()
    await list_entries(message, session, 0)


async def list_pressed(
    query: CallbackQuery, callback_data: AdminFaqCb, session: AsyncSession
) -> None:
    await list_entries(query, session, callback_data.page)
    await query.answer()


def _entry_card(entry: FaqEntry) -> str:
    return compose(
        TEXT_LIMIT,
        [
            _("Topic: {topic}").format(topic=h(entry.topic)),
            f"<b>{h(entry.question)}</b>",
            "",
            Typed(entry.answer, TEXT_LIMIT - 600),
        ],
    )


async def show_pressed(
    query: CallbackQuery, callback_data: AdminFaqCb, session: AsyncSession
) -> None:
    entry = await session.get(FaqEntry, callback_data.entry_id)
    if entry is None:
        await query.answer(_("This question is no longer in the list."), show_alert=True)
        return
    rows = [
        [
            InlineKeyboardButton(
                text=_("✏ Edit the answer"), callback_data=_cb(FaqAdminAction.EDIT, entry.id)
            ),
            InlineKeyboardButton(
                text=_("🗑 Delete"), callback_data=_cb(FaqAdminAction.DELETE, entry.id)
            ),
        ],
        [
            InlineKeyboardButton(
                text=_("⬅ All questions"),
                callback_data=_cb(FaqAdminAction.LIST, page=callback_data.page),
            )
        ],
    ]
    await show(query, _entry_card(entry), InlineKeyboardMarkup(inline_keyboard=rows))
    await query.answer()


async def delete_pressed(
    query: CallbackQuery, callback_data: AdminFaqCb, session: AsyncSession
) -> None:
    if await faq.delete_entry(session, callback_data.entry_id):
        await query.answer(_("Deleted."))
    else:
        await query.answer(_("This question is no longer in the list."), show_alert=True)
    await list_entries(query, session, 0)


async def edit_pressed(
    query: CallbackQuery, callback_data: AdminFaqCb, session: AsyncSession, state: FSMContext
) -> None:
    entry = await session.get(FaqEntry, callback_data.entry_id)
    if entry is None:
        await query.answer(_("This question is no longer in the list."), show_alert=True)
        return
    await state.set_state(FaqForm.new_answer)
    await state.update_data(faq_entry=entry.id)
    await query.answer()
    assert query.bot is not None
    await query.bot.send_message(
        query.from_user.id,
        _("Send the new answer to “{question}” (or /cancel).").format(question=h(entry.question)),
    )


async def new_answer_typed(message: Message, session: AsyncSession, state: FSMContext) -> None:
    entry_id = int((await state.get_data()).get("faq_entry") or 0)
    await state.set_state(None)
    entry = await faq.set_answer(session, entry_id, (message.text or "").strip())
    if entry is None:
        await message.answer(_("This question is no longer in the list."))
        return
    await message.answer(_("✅ The answer is saved."))
    await list_entries(message, session, 0)


async def add_pressed(query: CallbackQuery, session: AsyncSession, state: FSMContext) -> None:
    await state.set_state(FaqForm.topic)
    names = [topic.name for topic in await faq.topics(session)]
    await query.answer()
    assert query.bot is not None
    text = _("Which topic is the question on? Type a topic (a new one or one of these): {topics}")
    await query.bot.send_message(
        query.from_user.id,
        text.format(topics=h(", ".join(names)) if names else "—"),
    )


def _too_long(text: str, most: int) -> str | None:
    if len(text) <= most:
        return None
    return _("That is {length} characters; at most {most} fit. Please shorten it.").format(
        length=len(text), most=most
    )


async def topic_typed(message: Message, state: FSMContext) -> None:
    topic = (message.text or "").strip()
    if (refusal := _too_long(topic, faq.MAX_TOPIC)) is not None:
        await message.answer(refusal)
        return
    await state.update_data(faq_topic=topic)
    await state.set_state(FaqForm.question)
    await message.answer(_("Now the question, as a shopper would ask it."))


async def question_typed(message: Message, state: FSMContext) -> None:
    question = (message.text or "").strip()
    if (refusal := _too_long(question, faq.MAX_QUESTION)) is not None:
        await message.answer(refusal)
        return
    await state.update_data(faq_question=question)
    await state.set_state(FaqForm.answer)
    await message.answer(_("And the answer."))


async def answer_typed(message: Message, session: AsyncSession, state: FSMContext) -> None:
    answer = (message.text or "").strip()
    if (refusal := _too_long(answer, faq.MAX_ANSWER)) is not None:
        await message.answer(refusal)
        return
    data = await state.get_data()
    await state.set_state(None)
    entry = await faq.add_entry(session, data["faq_topic"], data["faq_question"], answer)
    if entry is None:
        await message.answer(_("The FAQ has this question already; edit its answer in /faq."))
        return
    await message.answer(_("✅ The question is added."))
    await list_entries(message, session, 0)


async def ask_for_file(message: Message, state: FSMContext) -> None:
    await state.set_state(FaqForm.waiting_file)
    await message.answer(
        _("Send the FAQ as a CSV file (columns: question, answer, topic; at most 5 MB).")
    )


def _errors_text(errors: ProblemList) -> str:
    count = errors.total
    head = ngettext(
        "❌ The file has {n} error. Nothing was changed.",
        "❌ The file has {n} errors. Nothing was changed.",
        count,
    ).format(n=count)
    body = [["• ", Typed(problem_line(problem), 180)] for problem in errors[:ERRORS_IN_MESSAGE]]
    return compose(TEXT_LIMIT, [head, "", *body])


def _summary(report: faq.FaqReport) -> str:
    return h(report.summary().render(get_i18n().current_locale))


async def receive_file(
    message: Message, bot: Bot, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    """Check the file without writing; the summary comes with Apply / Cancel."""
    await state.clear()
    document: Document | None = message.document
    assert document is not None
    name = (document.file_name or "").lower()
    if not name.endswith(".csv") and document.mime_type not in ("text/csv", "application/csv"):
        await message.answer(_("That is not a CSV file. Send the FAQ as CSV with /faq_import."))
        return
    if document.file_size is not None and document.file_size > MAX_IMPORT_BYTES:
        await message.answer(
            _("The file is {size:.1f} MB; an import takes at most 5 MB.").format(
                size=document.file_size / MB
            )
        )
        return
    try:
        downloaded = await bot.download(document, destination=BytesIO())
    except TelegramBadRequest as exc:
        await message.answer(_("Could not download the file: {error}").format(error=exc.message))
        return
    assert downloaded is not None
    data = downloaded.getvalue()
    factory = create_session_factory(session.bind)  # type: ignore[arg-type]
    report = await faq.import_faq(factory, data, dry_run=True)
    if not report.ok:
        await message.answer(_errors_text(report.errors))
        return
    token = secrets.token_hex(8)
    await asyncio.to_thread(park, pending_file(settings, token, FAQ_PREFIX), data)
    buttons = [
        InlineKeyboardButton(
            text=_("✅ Apply"),
            callback_data=AdminFaqImportCb(action=ImportAction.APPLY, token=token).pack(),
        ),
        InlineKeyboardButton(
            text=_("✖ Cancel"),
            callback_data=AdminFaqImportCb(action=ImportAction.CANCEL, token=token).pack(),
        ),
    ]
    await message.answer(
        _summary(report), reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons])
    )


async def import_button(
    query: CallbackQuery,
    callback_data: AdminFaqImportCb,
    session: AsyncSession,
    settings: Settings,
) -> None:
    data = await take_pending(
        query, settings, callback_data.action, callback_data.token, prefix=FAQ_PREFIX
    )
    if data is None:
        return
    factory = create_session_factory(session.bind)  # type: ignore[arg-type]
    report = await faq.import_faq(factory, data, dry_run=False)
    if report.ok:
        await show(query, _summary(report))
    else:  # the FAQ changed between the check and Apply in a way the file no longer fits
        await show(query, _errors_text(report.errors))


async def export_command(message: Message, session: AsyncSession) -> None:
    data = await faq.faq_csv(session)
    await message.answer_document(
        BufferedInputFile(data, filename=f"faq-{when(utcnow(), FILE_DATE)}.csv"),
        caption=_("The FAQ. Edit it and send it back with the caption /faq_import."),
    )


def register(router: Router) -> None:
    """Before the catalogue's file handlers, which take any other file."""
    router.message.register(faq_command, Command("faq"))
    router.message.register(receive_file, Command("faq_import"), Magic(F.document))
    router.message.register(ask_for_file, Command("faq_import"))
    router.message.register(receive_file, StateFilter(FaqForm.waiting_file), Magic(F.document))
    router.message.register(export_command, Command("faq_export"))
    router.message.register(topic_typed, StateFilter(FaqForm.topic), plain_text())
    router.message.register(question_typed, StateFilter(FaqForm.question), plain_text())
    router.message.register(answer_typed, StateFilter(FaqForm.answer), plain_text())
    router.message.register(new_answer_typed, StateFilter(FaqForm.new_answer), plain_text())
    router.callback_query.register(list_pressed, AdminFaqCb.filter(F.action == FaqAdminAction.LIST))
    router.callback_query.register(show_pressed, AdminFaqCb.filter(F.action == FaqAdminAction.SHOW))
    router.callback_query.register(
        delete_pressed, AdminFaqCb.filter(F.action == FaqAdminAction.DELETE)
    )
    router.callback_query.register(edit_pressed, AdminFaqCb.filter(F.action == FaqAdminAction.EDIT))
    router.callback_query.register(add_pressed, AdminFaqCb.filter(F.action == FaqAdminAction.ADD))
    router.callback_query.register(import_button, AdminFaqImportCb.filter())
