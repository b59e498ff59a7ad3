"""The owner's promotions: /sale puts a product on sale (or takes it off), /promo lists the
promo codes with their uses and revenue, makes one (in one line, or step by step with
buttons) and switches one off."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from datetime import datetime, time, tzinfo
from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import IdOrZero
from shopbot.bot.clock import when
from shopbot.bot.prices import until_text
from shopbot.bot.render import TEXT_LIMIT, Line, Typed, compose, fill, h
from shopbot.bot.routers.filters import plain_text
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.errors import ProductNotFound
from shopbot.importer.reader import sale_end
from shopbot.models import PromoCode, PromoKind
from shopbot.money import MAX_PRICE, MoneyError, format_price, parse_price
from shopbot.services import pricing, promo, sales
from shopbot.services.promo import CODE_LIMIT, CodeFigures, CodeTaken, Terms, UnknownCategory
from shopbot.services.sales import SaleRefused

_SALE = re.compile(r"(?P<sku>\S+)\s+(?P<price>.+?)(?:\s+(?:until|до)\s+(?P<until>.+))?", re.I)
_CODE = re.compile(r"[A-Za-z0-9А-Яа-яЁё_-]{2,32}")
_PERCENT = re.compile(r"(\d{1,3})\s*%")
_QUOTES = str.maketrans({"«": '"', "»": '"', "“": '"', "”": '"', "„": '"'})
MAX_USES = 1_000_000


def actor(user_id: int) -> str:
    return f"admin:{user_id}"


class PromoInputError(ValueError):
    """What the owner typed cannot be read; the message says what to type (translated)."""


def parse_moment(text: str, zone: tzinfo) -> datetime:
    """``31.12.2026`` (through that day: the end is the next midnight) or
    ``31.12.2026 18:00`` on the shop's clock, read as the importer reads ``sale_until``."""
    moment = sale_end(text, zone)
    if moment is None:
        raise PromoInputError(
            _("“{text}” is not a date like 31.12.2026 or 31.12.2026 18:00.").format(text=h(text))
        )
    return moment


def parse_start(text: str, zone: tzinfo) -> datetime:
    """``from=01.12.2026``: from the start of that day on the shop's clock."""
    try:
        day = datetime.strptime(text, "%d.%m.%Y").date()
    except ValueError as exc:
        raise PromoInputError(
            _("“{text}” is not a date like 01.12.2026.").format(text=h(text))
        ) from exc
    return datetime.combine(day, time(), zone)


def parse_discount(text: str) -> tuple[PromoKind, int]:
    """``10%`` (1 to 100 per cent) or ``500`` (roubles off, kopecks allowed: 499,99)."""
    if percent := _PERCENT.fullmatch(text):
        value = int(percent.group(1))
        if 1 <= value <= 100:
            return PromoKind.PERCENT, value
    else:
        try:
            kopecks = parse_price(text)
        except MoneyError:
            kopecks = 0
        if 0 < kopecks <= MAX_PRICE:
            return PromoKind.FIXED, kopecks
    raise PromoInputError(
        _("“{text}” is not a discount: write 10% (per cent) or 500 (roubles off).").format(
            text=h(text)
        )
    )


def parse_code(text: str) -> str:
    if not _CODE.fullmatch(text):
        raise PromoInputError(
            _("“{text}” cannot be a code: 2 to {n} letters, digits, “-” or “_”, no spaces.").format(
                text=h(text[:40]), n=CODE_LIMIT
            )
        )
    return text


def parse_terms(words: list[str], zone: tzinfo) -> Terms:
    """``CODE 10% min=2000 from=01.12.2026 until=31.12.2026 uses=10 once first
    category="Одежда"`` (the words after ``/promo new``)."""
    if len(words) < 2:
        raise PromoInputError(promo_usage())
    terms = Terms(parse_code(words[0]), *parse_discount(words[1]))
    for word in words[2:]:
        key, _sign, value = word.partition("=")
        key = key.lower()
        if key in ("once", "один"):
            terms = replace(terms, once_per_shopper=True)
        elif key in ("first", "первый"):
            terms = replace(terms, first_order_only=True)
        elif key == "min" and value:
            try:
                terms = replace(terms, min_total=parse_price(value))
            except MoneyError as exc:
                raise PromoInputError(
                    _("“{text}” is not an amount.").format(text=h(value))
                ) from exc
        elif key == "until" and value:
            terms = replace(terms, ends_at=parse_moment(value, zone))
        elif key == "from" and value:
            terms = replace(terms, starts_at=parse_start(value, zone))
        elif key == "uses" and value.isdigit() and 0 < int(value) <= MAX_USES:
            terms = replace(terms, max_uses=int(value))
        elif key == "category" and value.strip():
            terms = replace(terms, category=value.strip())
        else:
            raise PromoInputError(
                _("“{word}” is not an option I know.").format(word=h(word)) + "\n" + promo_usage()
            )
    return terms


def promo_usage() -> str:
    return _(
        "Usage: /promo new CODE 10% or /promo new CODE 500 (roubles off), then any of: "
        "min=2000 (least order), from=01.12.2026, until=31.12.2026, uses=10 (in all), once "
        '(once per shopper), first (first order only), category="Одежда". '
        "/promo off CODE switches a code off; /promo alone lists the codes."
    )


def sale_usage() -> str:
    return _(
        "Usage: /sale SKU PRICE — on sale until you take it off; /sale SKU PRICE until "
        "31.12.2026 (through that day) or until 31.12.2026 18:00; /sale SKU off — the sale "
        "ends now; /sale alone — what is on sale."
    )


# /sale


async def sale_command(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    args = (command.args or "").strip()
    if not args:
        await message.answer(await _on_sale_text(session))
        return
    parts = args.split()
    who = actor(message.chat.id)
    try:
        if len(parts) == 2 and parts[1].lower() in ("off", "стоп", "выкл"):
            ended = await sales.end_sale(session, parts[0], actor=who)
            text = _("The sale of {sku} “{name}” is over: it sells at {price} again.")
            await message.answer(
                text.format(sku=h(ended.sku), name=h(ended.name), price=format_price(ended.price))
            )
            return
        found = _SALE.fullmatch(args)
        if found is None:
            await message.answer(sale_usage())
            return
        try:
            sale_price = parse_price(found.group("price"))
        except MoneyError:
            await message.answer(sale_usage())
            return
        until = None
        if found.group("until"):
            until = parse_moment(found.group("until"), settings.shop_timezone)
        change = await sales.set_sale(
            session, found.group("sku"), sale_price, until, actor=who, at=pricing.now()
        )
    except PromoInputError as exc:
        await message.answer(str(exc))
        return
    except ProductNotFound:
        await message.answer(_("No product with SKU {sku}.").format(sku=h(parts[0])))
        return
    except SaleRefused as exc:
        if exc.reason == "not_lower":
            text = _("A sale price must be below the price ({price}).")
        elif exc.reason == "free":
            text = _("A sale price must be above zero: a payment of 0 ₽ cannot be taken.")
        else:
            text = _("That moment has passed already: a sale must end later than now.")
        await message.answer(text.format(price=format_price(exc.price)))
        return
    assert change.sale_price is not None
    ending = until_text(change.sale_until) if change.sale_until else _("until you take it off")
    text = _("🔥 {sku} “{name}” is on sale: <s>{price}</s> {sale}, {ending}.")
    await message.answer(
        text.format(
            sku=h(change.sku),
            name=h(change.name),
            price=format_price(change.price),
            sale=format_price(change.sale_price),
            ending=ending,
        )
    )


async def _on_sale_text(session: AsyncSession) -> str:
    found = await sales.on_sale(session, 0, 50, pricing.now())
    if not found.total:
        return _("Nothing is on sale now.") + "\n" + sale_usage()
    lines: list[Line] = [_("🔥 <b>On sale now</b> — {n}").format(n=found.total), ""]
    for item in found.items:
        assert item.sale_price is not None
        ending = until_text(item.sale_until) if item.sale_until else _("until taken off")
        lines.append(
            [
                f"• {h(item.sku)} ",
                Typed(item.name, 60),
                f": <s>{format_price(item.price)}</s> {format_price(item.sale_price)}, {ending}",
            ]
        )
    return compose(TEXT_LIMIT, lines)


# /promo


class PromoAdminAction(StrEnum):
    NEW = "n"  # start making a code with buttons
    OFF = "o"  # switch a code off
    ONCE = "1"  # toggle "once per shopper" in the code being made
    FIRST = "f"  # toggle "first order only"
    CREATE = "c"  # make it


class AdminPromoCb(CallbackData, prefix="apm"):
    action: PromoAdminAction
    promo_id: IdOrZero = 0  # 0: none (the buttons that make a code)


class NewCodeForm(StatesGroup):
    code = State()
    discount = State()
    options = State()


def _rules(figures: CodeFigures) -> str:
    code = figures.promo
    parts = [f"{code.amount}%" if code.kind is PromoKind.PERCENT else format_price(code.amount)]
    if code.min_total:
        parts.append(_("from {amount}").format(amount=format_price(code.min_total)))
    if code.starts_at:
        parts.append(_("valid from {moment}").format(moment=when(code.starts_at)))
    if code.ends_at:
        parts.append(until_text(code.ends_at))
    if code.once_per_shopper:
        parts.append(_("once per shopper"))
    if code.first_order_only:
        parts.append(_("first order only"))
    if figures.category:
        parts.append(_("category “{name}”").format(name=h(figures.category)))
    return " · ".join(parts)


def _uses(code: PromoCode) -> str:
    if code.max_uses is None:
        return _("used {n}").format(n=code.uses)
    return _("used {n} of {most}").format(n=code.uses, most=code.max_uses)


def codes_text(codes: list[CodeFigures]) -> str:
    if not codes:
        return _("🎟 No promo codes yet.") + "\n\n" + promo_usage()
    lines: list[Line] = [_("🎟 <b>Promo codes</b>"), ""]
    for number, figures in enumerate(codes, 1):
        code = figures.promo
        state = "" if code.active else _(" (off)")
        earned = _("{orders} orders for {revenue}").format(
            orders=figures.orders, revenue=format_price(figures.revenue)
        )
        lines.append(
            fill(
                "{number}. <b>{code}</b>{state} — {rules}\n    {uses} · {earned}",
                number=number,
                code=Typed(code.code),
                state=state,
                rules=_rules(figures),
                uses=_uses(code),
                earned=earned,
            )
        )
    return compose(TEXT_LIMIT, lines)


def codes_keyboard(codes: list[CodeFigures]) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=_("✖ {number} · switch {code} off").format(
                    number=number, code=figures.promo.code
                ),
                callback_data=AdminPromoCb(
                    action=PromoAdminAction.OFF, promo_id=figures.promo.id
                ).pack(),
            )
        ]
        for number, figures in enumerate(codes, 1)
        if figures.promo.active
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text=_("➕ New promo code"),
                callback_data=AdminPromoCb(action=PromoAdminAction.NEW).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _show_codes(target: Message | CallbackQuery, session: AsyncSession) -> None:
    codes = await promo.list_codes(session)
    await show(target, codes_text(codes), codes_keyboard(codes))


async def promo_command(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    args = (command.args or "").translate(_QUOTES)
    try:
        words = shlex.split(args)
    except ValueError:
        await message.answer(promo_usage())
        return
    if not words:
        await _show_codes(message, session)
        return
    verb = words[0].lower()
    if verb == "off" and len(words) == 2:
        await _switch_off_by_name(message, session, words[1])
        return
    if verb != "new":
        await message.answer(promo_usage())
        return
    try:
        terms = parse_terms(words[1:], settings.shop_timezone)
    except PromoInputError as exc:
        await message.answer(str(exc))
        return
    await _create(message, session, terms)


async def _create(message: Message, session: AsyncSession, terms: Terms) -> None:
    try:
        made = await promo.create(session, terms, actor=actor(message.chat.id))
    except CodeTaken as exc:
        await message.answer(
            _("There is a code {code} already: choose another name.").format(code=h(exc.promo_code))
        )
        return
    except UnknownCategory as exc:
        await message.answer(_("There is no category “{name}”.").format(name=h(exc.name)))
        return
    figures = await promo.get_code(session, made.id)
    assert figures is not None
    await message.answer(
        _(
            "✅ Promo code <b>{code}</b> made: {rules}.\nShoppers type it at checkout, or open "
            "the link: {link}"
        ).format(
            code=h(made.code),
            rules=_rules(figures),
            link=h(f"/start promo_{made.code}"),
        )
    )


async def _switch_off_by_name(message: Message, session: AsyncSession, name: str) -> None:
    wanted = promo.normal_code(name)
    found = next((f for f in await promo.list_codes(session) if f.promo.code == wanted), None)
    if found is None or not await promo.deactivate(session, found.promo.id):
        await message.answer(_("No active promo code {code}.").format(code=h(wanted)))
        return
    await message.answer(_("Promo code {code} is switched off.").format(code=h(wanted)))


async def switch_off(
    query: CallbackQuery, callback_data: AdminPromoCb, session: AsyncSession
) -> None:
    if not await promo.deactivate(session, callback_data.promo_id):
        await query.answer(_("This promo code is off already, or gone."), show_alert=True)
    else:
        await query.answer(_("Switched off."))
    await _show_codes(query, session)


# Making a code with buttons: the name, the discount, then the options to tick.


async def new_code(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewCodeForm.code)
    await state.set_data({})
    assert query.message is not None
    await query.message.answer(
        _("The new code's name? 2 to {n} letters or digits, e.g. SPRING10 (/cancel: stop).").format(
            n=CODE_LIMIT
        )
    )
    await query.answer()


async def code_named(message: Message, state: FSMContext, session: AsyncSession) -> None:
    try:
        code = parse_code((message.text or "").strip())
    except PromoInputError as exc:
        await message.answer(str(exc))
        return
    if any(f.promo.code == promo.normal_code(code) for f in await promo.list_codes(session)):
        await message.answer(
            _("There is a code {code} already: choose another name.").format(code=h(code))
        )
        return
    await state.update_data(code=code)
    await state.set_state(NewCodeForm.discount)
    await message.answer(_("The discount? 10% (per cent) or 500 (roubles off)."))


async def discount_given(message: Message, state: FSMContext) -> None:
    try:
        kind, amount = parse_discount((message.text or "").strip())
    except PromoInputError as exc:
        await message.answer(str(exc))
        return
    await state.update_data(kind=kind.value, amount=amount, once=False, first=False)
    await state.set_state(NewCodeForm.options)
    data = await state.get_data()
    await message.answer(_options_text(data), reply_markup=_options_keyboard(data))


def _options_text(data: dict) -> str:
    return _(
        "Code <b>{code}</b>. Tick the rules, then create it. (A least order, dates, a limit "
        "of uses or a category: type the whole code in one line with /promo new.)"
    ).format(code=h(data["code"]))


def _options_keyboard(data: dict) -> InlineKeyboardMarkup:
    def tick(on: bool, label: str) -> str:
        return ("☑ " if on else "☐ ") + label

    def button(text: str, action: PromoAdminAction) -> list[InlineKeyboardButton]:
        return [InlineKeyboardButton(text=text, callback_data=AdminPromoCb(action=action).pack())]

    return InlineKeyboardMarkup(
        inline_keyboard=[
            button(tick(data["once"], _("once per shopper")), PromoAdminAction.ONCE),
            button(tick(data["first"], _("first order only")), PromoAdminAction.FIRST),
            button(_("✅ Create"), PromoAdminAction.CREATE),
        ]
    )


async def toggle_option(
    query: CallbackQuery, callback_data: AdminPromoCb, state: FSMContext
) -> None:
    key = "once" if callback_data.action is PromoAdminAction.ONCE else "first"
    data = await state.get_data()
    await state.update_data({key: not data.get(key)})
    data = await state.get_data()
    await show(query, _options_text(data), _options_keyboard(data))
    await query.answer()


async def create_pressed(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    await state.clear()
    terms = Terms(
        data["code"],
        PromoKind(data["kind"]),
        data["amount"],
        once_per_shopper=bool(data.get("once")),
        first_order_only=bool(data.get("first")),
    )
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=None)
    await _create(query.message, session, terms)


async def stale_step(query: CallbackQuery) -> None:
    await query.answer(
        _("This promo code is made already, or its making was left."), show_alert=True
    )


def register(router: Router) -> None:
    router.message.register(sale_command, Command("sale"))
    router.message.register(promo_command, Command("promo"))
    router.callback_query.register(
        switch_off, AdminPromoCb.filter(F.action == PromoAdminAction.OFF)
    )
    router.callback_query.register(new_code, AdminPromoCb.filter(F.action == PromoAdminAction.NEW))
    router.message.register(code_named, StateFilter(NewCodeForm.code), plain_text())
    router.message.register(discount_given, StateFilter(NewCodeForm.discount), plain_text())
    router.callback_query.register(
        toggle_option,
        StateFilter(NewCodeForm.options),
        AdminPromoCb.filter(F.action.in_({PromoAdminAction.ONCE, PromoAdminAction.FIRST})),
    )
    router.callback_query.register(
        create_pressed,
        StateFilter(NewCodeForm.options),
        AdminPromoCb.filter(F.action == PromoAdminAction.CREATE),
    )
    router.callback_query.register(stale_step, AdminPromoCb.filter())
