"""Admin keyboards: product stock buttons, order moves, lists with pages, import choice."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from shopbot.bot.keyboards import pager_row
from shopbot.bot.routers.admin.callbacks import (
    STOCK_STEPS,
    AdminFileCb,
    AdminImportCb,
    AdminMenuCb,
    AdminOrderCb,
    AdminPriceCb,
    AdminProductCb,
    AdminStockCb,
    ImportAction,
    MenuAction,
    OrderAction,
    PriceAnswer,
    ProductAction,
    status_code,
)
from shopbot.bot.support_keyboards import write_to_shopper_button
from shopbot.bot.texts import status_label
from shopbot.models import Order, OrderStatus, Product
from shopbot.money import format_price
from shopbot.services.catalogue import Page
from shopbot.services.orders import next_statuses

S = OrderStatus
# What an admin may move an order to by hand; payment statuses and expiry belong to the
# payment provider and the expiry job.
ADMIN_TARGETS = (S.CONFIRMED, S.SHIPPED, S.DELIVERED, S.CANCELLED)


def admin_menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📉 Low stock"), callback_data=AdminStockCb(page=0).pack()
                ),
                InlineKeyboardButton(
                    text=_("📦 Orders"),
                    callback_data=AdminOrderCb(action=OrderAction.LIST).pack(),
                ),
            ],
            [
                InlineKeyboardButton(
                    text=_("📊 Stats"), callback_data=AdminMenuCb(action=MenuAction.STATS).pack()
                ),
                InlineKeyboardButton(
                    text=_("📤 Export"),
                    callback_data=AdminMenuCb(action=MenuAction.EXPORT).pack(),
                ),
            ],
        ]
    )


def _pager(builder: InlineKeyboardBuilder, page: Page, make: Callable[[int], str]) -> None:
    """The pager row under an admin list; its page indicator reloads the page."""
    if buttons := pager_row(page, make, make(page.page)):
        builder.row(*buttons)


def low_stock_keyboard(page: Page[Product]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for product in page.items:
        hidden = " 🙈" if not product.active else ""
        builder.row(
            InlineKeyboardButton(
                text=f"{product.sku} · {product.name[:40]} — {product.stock}{hidden}",
                callback_data=AdminProductCb(
                    action=ProductAction.SHOW, product_id=product.id
                ).pack(),
            )
        )
    _pager(builder, page, lambda number: AdminStockCb(page=number).pack())
    return builder.as_markup()


def product_admin_keyboard(product: Product) -> InlineKeyboardMarkup:
    def cb(action: ProductAction, delta: int = 0) -> str:
        return AdminProductCb(action=action, product_id=product.id, delta=delta).pack()

    builder = InlineKeyboardBuilder()
    builder.row(
        *(
            InlineKeyboardButton(text=f"{step:+d}", callback_data=cb(ProductAction.ADJUST, step))
            for step in STOCK_STEPS
        )
    )
    if product.active:
        toggle = InlineKeyboardButton(text=_("🙈 Hide"), callback_data=cb(ProductAction.HIDE))
    else:
        toggle = InlineKeyboardButton(text=_("👁 Show"), callback_data=cb(ProductAction.UNHIDE))
    builder.row(toggle, InlineKeyboardButton(text="🔄", callback_data=cb(ProductAction.SHOW)))
    return builder.as_markup()


def orders_keyboard(page: Page[Order], status: OrderStatus | None) -> InlineKeyboardMarkup:
    code = status_code(status)
    builder = InlineKeyboardBuilder()
    for order in page.items:
        flag = "⚠ " if order.attention else ""
        builder.row(
            InlineKeyboardButton(
                text=(
                    f"{flag}№{order.number} · {format_price(order.total)} · "
                    f"{status_label(order.status)}"
                ),
                callback_data=AdminOrderCb(
                    action=OrderAction.SHOW, order_id=order.id, page=page.page, status=code
                ).pack(),
            )
        )
    _pager(
        builder,
        page,
        lambda number: AdminOrderCb(action=OrderAction.LIST, page=number, status=code).pack(),
    )
    return builder.as_markup()


def order_admin_keyboard(
    order: Order, *, page: int = 0, status: OrderStatus | None = None
) -> InlineKeyboardMarkup:
    """Buttons for the statuses the order may go to next, and back to the list it is on."""
    builder = InlineKeyboardBuilder()
    for target in next_statuses(order.status):
        if target not in ADMIN_TARGETS:
            continue
        label = _("✖ Cancel") if target is S.CANCELLED else f"→ {status_label(target)}"
        builder.button(
            text=label,
            callback_data=AdminOrderCb(
                action=OrderAction.MOVE,
                order_id=order.id,
                page=page,
                status=status_code(status),
                target=status_code(target),
                expect=status_code(order.status),
            ).pack(),
        )
    builder.adjust(2)
    if order.attention:
        builder.row(
            InlineKeyboardButton(
                text=_("✔ Handled"),
                callback_data=AdminOrderCb(
                    action=OrderAction.HANDLED,
                    order_id=order.id,
                    page=page,
                    status=status_code(status),
                ).pack(),
            )
        )
    builder.row(write_to_shopper_button(order.id))
    builder.row(
        InlineKeyboardButton(
            text=_("⬅ All orders"),
            callback_data=AdminOrderCb(
                action=OrderAction.LIST, page=page, status=status_code(status)
            ).pack(),
        )
    )
    return builder.as_markup()


def import_offer_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("📥 Import this file"), callback_data=AdminFileCb().pack()
                )
            ]
        ]
    )


def import_keyboard(token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ Apply"),
                    callback_data=AdminImportCb(action=ImportAction.APPLY, token=token).pack(),
                ),
                InlineKeyboardButton(
                    text=_("✖ Cancel"),
                    callback_data=AdminImportCb(action=ImportAction.CANCEL, token=token).pack(),
                ),
            ]
        ]
    )


def confirm_refund_keyboard(move: AdminOrderCb) -> InlineKeyboardMarkup:
    """Yes repeats the move as confirmed; No goes back to the order card."""
    yes = move.model_copy(update={"action": OrderAction.CONFIRMED_MOVE})
    no = move.model_copy(update={"action": OrderAction.SHOW})
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=_("✔ Yes, cancel and refund"), callback_data=yes.pack()),
                InlineKeyboardButton(text=_("⬅ No"), callback_data=no.pack()),
            ]
        ]
    )


def confirm_price_keyboard(product_id: int, price: int, old: int) -> InlineKeyboardMarkup:
    """ "Yes, set 0 ₽" / "Cancel" for an unusual price (see ``AdminPriceCb``)."""

    def cb(answer: PriceAnswer) -> str:
        return AdminPriceCb(product_id=product_id, price=price, old=old, answer=answer).pack()

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Yes, set {price}").format(price=format_price(price)),
                    callback_data=cb(PriceAnswer.YES),
                ),
                InlineKeyboardButton(text=_("Cancel"), callback_data=cb(PriceAnswer.NO)),
            ]
        ]
    )


def confirm_cancel_keyboard(move: AdminOrderCb) -> InlineKeyboardMarkup:
    """Yes goes on to the reason for the shopper; No goes back to the order card."""
    yes = move.model_copy(update={"action": OrderAction.CONFIRMED_MOVE})
    no = move.model_copy(update={"action": OrderAction.SHOW})
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=_("✔ Yes, cancel"), callback_data=yes.pack()),
                InlineKeyboardButton(text=_("⬅ No"), callback_data=no.pack()),
            ]
        ]
    )


def cancel_reason_keyboard(move: AdminOrderCb) -> InlineKeyboardMarkup:
    """While the owner may type a reason: cancel without one, or go back to the card."""
    now = move.model_copy(update={"action": OrderAction.NO_REASON})
    back = move.model_copy(update={"action": OrderAction.SHOW})
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("Cancel without a reason"), callback_data=now.pack())],
            [InlineKeyboardButton(text=_("⬅ Don't cancel"), callback_data=back.pack())],
        ]
    )
