"""Showing screens: edit the message a button belongs to when possible, send otherwise,
and send product photos by their stored Telegram file_id after the first upload."""

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
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.keyboards import product_keyboard
from shopbot.bot.texts import product_card
from shopbot.services.catalogue import ProductDetail, remember_file_id

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
) -> None:
    """The product card: a photo with caption when it has an image, a text card otherwise."""
    markup = product_keyboard(
        product.id, in_cart, product.active and product.stock > 0, category_id, page
    )
    image = product.image
    image_path = media_dir / image.path if image else None
    if image is None or (image.telegram_file_id is None and not image_path.is_file()):
        await show(target, product_card(product, photo=False), markup)
        return
    caption = product_card(product, photo=True)
    message = target if isinstance(target, Message) else target.message
    if isinstance(target, CallbackQuery) and isinstance(message, Message) and message.photo:
        # Same card re-rendered (quantity changed): edit the caption/keyboard in place.
        if _unchanged(message, caption, markup):
            return
        try:
            await message.edit_caption(caption=caption, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                raise
        return
    bot: Bot | None = target.bot
    assert bot is not None
    chat_id = message.chat.id if isinstance(message, Message) else target.from_user.id
    photo = image.telegram_file_id or FSInputFile(image_path)
    sent = await bot.send_photo(chat_id, photo, caption=caption, reply_markup=markup)
    if image.telegram_file_id is None and sent.photo:
        await remember_file_id(session, image.id, sent.photo[-1].file_id)
    if isinstance(target, CallbackQuery) and isinstance(message, Message):
        await _delete_quietly(message)
