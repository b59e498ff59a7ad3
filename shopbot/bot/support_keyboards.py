"""The staff's support buttons: close a conversation, write to an order's shopper."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _


class StaffCb(CallbackData, prefix="sd"):
    """``close`` a conversation (its id) or ``write`` to an order's shopper (the order id)."""

    action: str
    value: int


def close_keyboard(conversation_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ Close the conversation"),
                    callback_data=StaffCb(action="close", value=conversation_id).pack(),
                )
            ]
        ]
    )


def write_to_shopper_button(order_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("✉ Write to the shopper"),
        callback_data=StaffCb(action="write", value=order_id).pack(),
    )
