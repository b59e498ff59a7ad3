"""The staff's support buttons: close a conversation, write to an order's shopper."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from shopbot.bot.callbacks import Id


class StaffAction(StrEnum):
    CLOSE = "c"  # close the conversation ``value``
    WRITE = "w"  # write to the shopper of the order ``value``


class StaffCb(CallbackData, prefix="sd"):
    action: StaffAction
    value: Id


def close_keyboard(conversation_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ Close the conversation"),
                    callback_data=StaffCb(action=StaffAction.CLOSE, value=conversation_id).pack(),
                )
            ]
        ]
    )


def write_to_shopper_button(order_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("✉ Write to the shopper"),
        callback_data=StaffCb(action=StaffAction.WRITE, value=order_id).pack(),
    )
