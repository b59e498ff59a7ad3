"""``/mailing``: the owner composes a campaign in their chat; ``/mailings``: past campaigns.

Steps: the post (any message: text with formatting, a photo or video with a caption, an
album), optional buttons (one a line, ``Label | target``), the audience, a preview sent to
the owner with the audience's size, then Send now or Schedule (on the shop's clock). The
draft is the owner's own message(s): the campaign copies them, so what they see is what
shoppers get. ``/cancel`` leaves at any step. Pause, Resume and Cancel sit under the
progress message the job keeps up to date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.clock import when
from shopbot.bot.mailing_sender import ALBUM_BUTTONS
from shopbot.bot.mailing_views import (
    ControlAction,
    MailingControlCb,
    campaign_markup,
    campaigns_text,
    progress_markup,
    progress_text,
)
from shopbot.bot.render import h
from shopbot.bot.routers.filters import Magic, plain_text
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.models import Category, MailingStatus, utcnow
from shopbot.services import catalogue, mailings
from shopbot.services.mailings import Audience, AudienceKind, Button, ButtonKind

MAX_BUTTONS = 8
LABEL_MAX = 64
LISTED = 10  # campaigns in /mailings
_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # a promo code that fits a start parameter
_LINK = re.compile(r"https://\S+")
_SCHEDULE_FORMAT = "%d.%m.%Y %H:%M"


class Compose(StatesGroup):
    post = State()
    buttons = State()
    audience_value = State()
    confirm = State()
    schedule = State()


class Step(StrEnum):
    SKIP_BUTTONS = "b"
    AUDIENCE = "a"
    SEND_NOW = "n"
    SCHEDULE = "s"
    CANCEL = "x"


class ComposeCb(CallbackData, prefix="mlx"):
    step: Step
    value: str = ""  # an AudienceKind, with "-ru" / "-en" for a language


async def mailing_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(Compose.post)
    await message.answer(
        _(
            "📣 <b>New mailing</b>\n"
            "Send me the post exactly as shoppers should see it: a text (formatting is "
            "kept), a photo or a video with a caption, or an album.\n/cancel stops."
        )
    )


async def cancel_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("The mailing is cancelled. Nothing was sent."))


async def post_received(message: Message, state: FSMContext) -> None:
    """The post. An album arrives as one message per item: the first answers, the others
    join it quietly (:func:`album_item`)."""
    group = message.media_group_id
    await state.update_data(
        chat_id=message.chat.id, message_ids=[message.message_id], album=group, buttons=[]
    )
    await state.set_state(Compose.buttons)
    skip = ComposeCb(step=Step.SKIP_BUTTONS).pack()
    await message.answer(
        _(
            "Buttons under the post? Send them one a line as <code>Label | target</code>, "
            "the target being:\n"
            "• <code>sku:TS-01</code> — a product\n"
            "• <code>cat:Футболки</code> — a category\n"
            "• <code>promo:SPRING</code> — a promo code\n"
            "• <code>https://…</code> — a link\n"
            "Each button counts its clicks. Or press “No buttons”."
        ),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=_("No buttons"), callback_data=skip)]]
        ),
    )


async def album_item(message: Message, state: FSMContext) -> None:
    """The rest of an album whose first item moved the draft on to its buttons."""
    data = await state.get_data()
    if data.get("album") == message.media_group_id:
        await state.update_data(message_ids=[*data["message_ids"], message.message_id])


async def buttons_typed(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot
) -> None:
    lines = [line.strip() for line in (message.text or "").splitlines() if line.strip()]
    if len(lines) > MAX_BUTTONS:
        await message.answer(_("At most {n} buttons.").format(n=MAX_BUTTONS))
        return
    buttons = []
    for line in lines:
        button = await _parse_button(session, line)
        if isinstance(button, str):
            await message.answer(
                _("Line “{line}”: {problem}\nSend the buttons again.").format(
                    line=h(line), problem=button
                )
            )
            return
        buttons.append(button.as_json())
    await state.update_data(buttons=buttons)
    await _ask_audience(message.chat.id, bot)


async def _parse_button(session: AsyncSession, line: str) -> Button | str:
    """A button, or what is wrong with the line."""
    label, bar, target = (part.strip() for part in line.partition("|"))
    if not bar or not label or not target:
        return _("write it as “Label | target”.")
    if len(label) > LABEL_MAX:
        return _("the label is longer than {n} characters.").format(n=LABEL_MAX)
    kind, _colon, value = target.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if _LINK.fullmatch(target):
        return Button(ButtonKind.LINK, label, target)
    if kind == "sku":
        product = await catalogue.get_product_by_sku(session, value)
        if product is None or not product.active:
            return _("no product on sale has the SKU {sku}.").format(sku=h(value))
        return Button(ButtonKind.PRODUCT, label, str(product.id))
    if kind == "cat":
        category_id = await _category_named(session, value)
        if category_id is None:
            return _("there is no category “{name}”.").format(name=h(value))
        return Button(ButtonKind.CATEGORY, label, str(category_id))
    if kind == "promo":
        if not _CODE.fullmatch(value):
            return _("a promo code is 1-40 Latin letters, digits, _ or -.")
        return Button(ButtonKind.PROMO, label, value)
    return _("the target is none of sku:, cat:, promo: or an https:// link.")


async def _category_named(session: AsyncSession, name: str) -> int | None:
    """The id of the category of that name, in any case (compared in Python: SQLite's
    ``lower()`` folds only ASCII letters)."""
    wanted = name.casefold()
    for category_id, category_name in await session.execute(
        select(Category.id, Category.name).order_by(Category.id)
    ):
        if category_name.casefold() == wanted:
            return category_id
    return None


async def skip_buttons(query: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    if await state.get_state() != Compose.buttons.state:
        await query.answer(_("This mailing draft is gone. Start again with /mailing."))
        return
    await query.answer()
    await _ask_audience(query.from_user.id, bot)


async def _ask_audience(chat_id: int, bot: Bot) -> None:
    def button(text: str, value: str) -> list[InlineKeyboardButton]:
        data = ComposeCb(step=Step.AUDIENCE, value=value).pack()
        return [InlineKeyboardButton(text=text, callback_data=data)]

    kinds = AudienceKind
    rows = [
        button(_("All subscribers"), kinds.ALL),
        [
            *button(_("Speaking Russian"), f"{kinds.LANGUAGE}-ru"),
            *button(_("Speaking English"), f"{kinds.LANGUAGE}-en"),
        ],
        button(_("Bought from a category…"), kinds.CATEGORY),
        button(_("Bought a product…"), kinds.PRODUCT),
        button(_("Have an unfinished cart"), kinds.CART),
        button(_("Have not ordered for N days…"), kinds.INACTIVE),
        button(_("Never ordered"), kinds.NEVER_ORDERED),
    ]
    await bot.send_message(
        chat_id,
        _("Who gets it? Always only those who agreed to news and can be reached."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def audience_pressed(
    query: CallbackQuery,
    callback_data: ComposeCb,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
) -> None:
    data = await state.get_data()
    if "message_ids" not in data:
        await query.answer(_("This mailing draft is gone. Start again with /mailing."))
        return
    await query.answer()
    kind_name, _dash, language = callback_data.value.partition("-")
    try:
        kind = AudienceKind(kind_name)
    except ValueError:
        return
    if kind is AudienceKind.LANGUAGE:
        if language not in ("ru", "en"):
            return
        await _preview(query.from_user.id, Audience(kind, language), state, session, bot)
        return
    if kind in (AudienceKind.CATEGORY, AudienceKind.PRODUCT, AudienceKind.INACTIVE):
        await state.update_data(audience_kind=kind.value)
        await state.set_state(Compose.audience_value)
        question = {
            AudienceKind.CATEGORY: _("Which category? Send its name."),
            AudienceKind.PRODUCT: _("Which product? Send its SKU."),
            AudienceKind.INACTIVE: _("For how many days? Send a number."),
        }[kind]
        await bot.send_message(query.from_user.id, question)
        return
    await _preview(query.from_user.id, Audience(kind), state, session, bot)


async def audience_value_typed(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot
) -> None:
    data = await state.get_data()
    kind = AudienceKind(data["audience_kind"])
    text = (message.text or "").strip()
    value: int | None = None
    if kind is AudienceKind.CATEGORY:
        value = await _category_named(session, text)
        problem = _("There is no category “{name}”. Send its name again.").format(name=h(text))
    elif kind is AudienceKind.PRODUCT:
        product = await catalogue.get_product_by_sku(session, text)
        value = product.id if product is not None else None
        problem = _("No product has the SKU {sku}. Send it again.").format(sku=h(text))
    else:
        value = int(text) if text.isdigit() and 1 <= int(text) <= 3650 else None
        problem = _("Send a number of days from 1 to 3650.")
    if value is None:
        await message.answer(problem)
        return
    assert message.from_user is not None
    await _preview(message.from_user.id, Audience(kind, value), state, session, bot)


async def _preview(
    owner_id: int, audience: Audience, state: FSMContext, session: AsyncSession, bot: Bot
) -> None:
    """The post as shoppers will get it, sent to the owner, and the audience's size."""
    data = await state.get_data()
    size = await mailings.audience_size(session, audience)
    if size == 0:
        await bot.send_message(
            owner_id, _("Nobody in this audience has agreed to news yet. Pick another one.")
        )
        await state.set_state(Compose.buttons)
        await _ask_audience(owner_id, bot)
        return
    await state.update_data(audience=audience.as_json())
    await state.set_state(Compose.confirm)
    buttons = [Button.from_json(button) for button in data["buttons"]]
    me = await bot.me()
    markup = campaign_markup(0, buttons, me.username or "")
    if len(data["message_ids"]) > 1:
        await bot.copy_messages(owner_id, data["chat_id"], sorted(data["message_ids"]))
        await bot.send_message(owner_id, ALBUM_BUTTONS, reply_markup=markup)
    else:
        await bot.copy_message(
            owner_id, data["chat_id"], data["message_ids"][0], reply_markup=markup
        )

    def button(text: str, step: Step) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=ComposeCb(step=step).pack())

    await bot.send_message(
        owner_id,
        _("☝️ The preview. It goes to <b>{n}</b> subscribers. Send it?").format(n=size),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("🚀 Send now"), Step.SEND_NOW), button(_("🕒 Schedule"), Step.SCHEDULE)],
                [button(_("✖️ Cancel"), Step.CANCEL)],
            ]
        ),
    )


async def confirm_pressed(
    query: CallbackQuery,
    callback_data: ComposeCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    if callback_data.step is Step.CANCEL:
        await state.clear()
        await query.answer()
        await show(query, _("The mailing is cancelled. Nothing was sent."))
        return
    if await state.get_state() != Compose.confirm.state:
        await query.answer(
            _("This mailing was already sent or cancelled. Start a new one with /mailing."),
            show_alert=True,
        )
        return
    await query.answer()
    if callback_data.step is Step.SCHEDULE:
        await state.set_state(Compose.schedule)
        await show(
            query,
            _("When? Send the date and time as 31.12.2026 10:00 (shop time, {zone}).").format(
                zone=h(str(settings.shop_timezone))
            ),
        )
        return
    mailing_id = await _create(query.from_user.id, state, session, at=None)
    await show(
        query,
        _("🚀 Mailing #{id} starts in a moment: its progress comes in a message below.").format(
            id=mailing_id
        ),
    )


async def schedule_typed(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    text = (message.text or "").strip()
    try:
        local = datetime.strptime(text, _SCHEDULE_FORMAT)
    except ValueError:
        await message.answer(_("Send the date and time as 31.12.2026 10:00."))
        return
    at = local.replace(tzinfo=settings.shop_timezone).astimezone(UTC)
    if at <= utcnow():
        await message.answer(_("That time has passed. Send a time in the future."))
        return
    assert message.from_user is not None
    mailing_id = await _create(message.from_user.id, state, session, at=at)
    cancel = MailingControlCb(action=ControlAction.CANCEL, mailing_id=mailing_id).pack()
    await message.answer(
        _("🕒 Mailing #{id} is scheduled for {when}.").format(id=mailing_id, when=when(at)),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=_("✖️ Cancel the mailing"), callback_data=cancel)]
            ]
        ),
    )


async def _create(
    owner_id: int, state: FSMContext, session: AsyncSession, *, at: datetime | None
) -> int:
    data = await state.get_data()
    await state.clear()
    return await mailings.create(
        session,
        owner_id=owner_id,
        source_chat_id=data["chat_id"],
        message_ids=sorted(data["message_ids"]),
        buttons=[Button.from_json(button) for button in data["buttons"]],
        audience=Audience.from_json(data["audience"]),
        at=at,
    )


async def control_pressed(
    query: CallbackQuery, callback_data: MailingControlCb, session: AsyncSession
) -> None:
    """Pause, Resume or Cancel under the progress message (or a scheduled one's notice)."""
    to = {
        ControlAction.PAUSE: MailingStatus.PAUSED,
        ControlAction.RESUME: MailingStatus.SENDING,
        ControlAction.CANCEL: MailingStatus.CANCELLED,
    }[callback_data.action]
    mailing_id = callback_data.mailing_id
    changed = await mailings.change_status(session, mailing_id, to, f"admin:{query.from_user.id}")
    figures = await mailings.figures(session, mailing_id)
    if not changed or figures is None:
        await query.answer(_("This mailing has finished or changed already."), show_alert=True)
    else:
        await query.answer()
    if figures is not None:
        await show(query, progress_text(figures, None), progress_markup(figures))


async def mailings_command(message: Message, session: AsyncSession) -> None:
    await message.answer(campaigns_text(await mailings.latest(session, LISTED)))


def register(router: Router) -> None:
    """First of the admin's areas: in the middle of composing, the post (a file too) is the
    mailing's, while commands still reach their own handlers."""
    composing = StateFilter(Compose)
    router.message.register(mailing_command, Command("mailing"))
    router.message.register(mailings_command, Command("mailings"))
    # /cancel is the shoppers' command too (checkout): here only a way out of the draft.
    leaving = Magic(F.text.regexp(r"^/cancel(@\w+)?\s*$"))
    router.message.register(cancel_command, composing, leaving)
    not_a_command = Magic(~(F.text.startswith("/") | F.caption.startswith("/")))
    router.message.register(post_received, StateFilter(Compose.post), not_a_command)
    router.message.register(album_item, StateFilter(Compose.buttons), Magic(F.media_group_id))
    router.message.register(buttons_typed, StateFilter(Compose.buttons), plain_text())
    router.message.register(audience_value_typed, StateFilter(Compose.audience_value), plain_text())
    router.message.register(schedule_typed, StateFilter(Compose.schedule), plain_text())
    router.callback_query.register(skip_buttons, ComposeCb.filter(F.step == Step.SKIP_BUTTONS))
    router.callback_query.register(audience_pressed, ComposeCb.filter(F.step == Step.AUDIENCE))
    router.callback_query.register(
        confirm_pressed,
        ComposeCb.filter(F.step.in_({Step.SEND_NOW, Step.SCHEDULE, Step.CANCEL})),
    )
    router.callback_query.register(control_pressed, MailingControlCb.filter())
