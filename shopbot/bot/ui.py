"""Showing screens: edit the message a button belongs to when possible, send otherwise,
and send product photos by their stored Telegram file_id after the first upload; a card
with several photos turns through them in place (editMessageMedia)."""

from __future__ import annotations

import logging
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    CallbackQuery,
    FSInputFile,
    InaccessibleMessage,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import PhotoCb
from shopbot.bot.keyboards import product_keyboard
from shopbot.bot.texts import card_is_cut, product_card
from shopbot.bot.variants import card_notes, card_of, variant_rows
from shopbot.services import favourites
from shopbot.services.catalogue import ImageRef, ProductDetail, remember_file_id

log = logging.getLogger(__name__)


async def show(
    target: CallbackQuery | Message, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Put a text screen in front of the shopper.

    For a button press the screen replaces the button's message: edited in place when that
    message is text (skipped when nothing would change — Telegram refuses identical edits),
    or deleted and re-sent when it is a photo (a photo cannot become text).
    """
    if markup is not None and not any(markup.inline_keyboard):
        markup = None  # Telegram drops an empty keyboard; sending none keeps edits comparable
    if isinstance(target, Message):
        return await target.answer(text, reply_markup=markup)
    message = target.message
    if message is None or isinstance(message, InaccessibleMessage):
        if target.bot is None:
            return None
        return await target.bot.send_message(target.from_user.id, text, reply_markup=markup)
    if message.text is not None:
        if _unchanged(message, text, markup):
            return message
        try:
            edited = await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                raise
            return message
        return edited if isinstance(edited, Message) else message
    await _delete_quietly(message)
    return await message.answer(text, reply_markup=markup)


def _unchanged(message: Message, html: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Would an edit change nothing? (Telegram refuses such edits with an error.)

    Markups are compared by content: objects parsed from an update carry bot context that
    makes ``==`` unequal to a freshly built keyboard.
    """
    current = message.reply_markup.model_dump(exclude_none=True) if message.reply_markup else None
    wanted = markup.model_dump(exclude_none=True) if markup else None
    return message.html_text == html and current == wanted


async def _delete_quietly(message: Message) -> None:
    try:
        await message.delete()
    except TelegramBadRequest as exc:  # too old to delete (48 h) or already gone
        log.info("could not delete message %s: %s", message.message_id, exc.message)


async def show_product(
    target: CallbackQuery | Message,
    session: AsyncSession,
    product: ProductDetail,
    *,
    in_cart: int,
    category_id: int,
    page: int,
    media_dir: Path,
    photo: int | None = None,
    opened: bool = False,
) -> None:
    """The product card: a photo with caption when it has pictures, a text card otherwise.

    ``photo`` turns a card to that one of its photos; by default the card keeps the photo
    it shows (a quantity changed), or shows the first. ``opened``: the card of another
    product (a variant chosen) replaces the one pressed on, from its first photo. "More" is
    offered when the card cannot hold the whole description. A product with variants offers
    them as buttons, a variant shows its product's card with it chosen
    (``shopbot.bot.variants``).
    """
    choice = await card_of(session, product)
    product = choice.shown
    chosen = choice.chosen is not None or not choice.has_variants
    available = product.active and product.stock > 0 and chosen
    choices, notes = variant_rows(choice, category_id, page), card_notes(choice)
    bot: Bot | None = target.bot
    assert bot is not None and target.from_user is not None
    favourite = await favourites.is_favourite(session, target.from_user.id, choice.product.id)
    share = await share_query(bot, choice.product)
    images = [
        image
        for image in product.images
        if image.telegram_file_id is not None or (media_dir / image.path).is_file()
    ]
    if not images:
        more = card_is_cut(product, photo=False, notes=notes)
        markup = product_keyboard(
            product.id,
            in_cart,
            available,
            category_id,
            page,
            more=more,
            favourite=favourite,
            share=share,
            choices=choices,
        )
        await show(target, product_card(product, photo=False, notes=notes), markup)
        return
    message = target if isinstance(target, Message) else target.message
    pressed_on = isinstance(target, CallbackQuery) and isinstance(message, Message)
    card = message if pressed_on and isinstance(message, Message) and message.photo else None
    shown = shown_photo(card) if card is not None else 0
    if opened:
        photo = 0
    index = (shown if photo is None else photo) % len(images)
    markup = product_keyboard(
        product.id,
        in_cart,
        available,
        category_id,
        page,
        photo=index,
        photos=len(images),
        more=card_is_cut(product, photo=True, notes=notes),
        favourite=favourite,
        share=share,
        choices=choices,
    )
    caption = product_card(product, photo=True, notes=notes)
    image = images[index]
    if card is not None:
        if index == shown and not opened:
            await _edit_caption(card, caption, markup)  # the same photo: a quantity changed
        else:
            await _turn_to(session, card, image, media_dir, caption, markup)
        return
    chat_id = message.chat.id if isinstance(message, Message) else target.from_user.id
    sent = await bot.send_photo(
        chat_id, _photo_input(image, media_dir), caption=caption, reply_markup=markup
    )
    await _remember(session, image, sent)
    if isinstance(target, CallbackQuery) and isinstance(message, Message):
        await _delete_quietly(message)


async def share_query(bot: Bot, product: ProductDetail) -> str | None:
    """What "Share" types after ``@bot`` in the chosen chat: the SKU, which finds exactly
    this product; None when the bot has no inline mode (nothing would answer)."""
    me = await bot.me()  # aiogram keeps the first answer
    return product.sku if me.supports_inline_queries else None


def shown_photo(message: Message) -> int:
    """Which of its photos a card shows: the one its 2/3 button names (the middle of the
    ◀ 2/3 ▶ row); 0 for a card without that row."""
    rows = message.reply_markup.inline_keyboard if message.reply_markup else []
    prefix = PhotoCb.__prefix__ + PhotoCb.__separator__
    for row in rows:
        data = [button.callback_data or "" for button in row]
        if len(data) == 3 and all(item.startswith(prefix) for item in data):
            return PhotoCb.unpack(data[1]).photo
    return 0


async def _edit_caption(message: Message, caption: str, markup: InlineKeyboardMarkup) -> None:
    if _unchanged(message, caption, markup):
        return
    try:
        await message.edit_caption(caption=caption, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            raise


async def _turn_to(
    session: AsyncSession,
    message: Message,
    image: ImageRef,
    media_dir: Path,
    caption: str,
    markup: InlineKeyboardMarkup,
) -> None:
    """The card's photo replaced by ``image`` (its caption and buttons with it)."""
    media = InputMediaPhoto(media=_photo_input(image, media_dir), caption=caption)
    try:
        edited = await message.edit_media(media=media, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            raise
        return
    if isinstance(edited, Message):
        await _remember(session, image, edited)


def _photo_input(image: ImageRef, media_dir: Path) -> str | FSInputFile:
    return image.telegram_file_id or FSInputFile(media_dir / image.path)


async def _remember(session: AsyncSession, image: ImageRef, sent: Message) -> None:
    """Keep Telegram's file_id of a photo uploaded the first time: never uploaded again."""
    if image.telegram_file_id is None and sent.photo:
        await remember_file_id(session, image.id, sent.photo[-1].file_id)
