"""Keyboard builders. Labels are translated; callback data comes from callbacks.py.

Markups are put together from lists of rows rather than aiogram's InlineKeyboardBuilder,
which copies the whole markup on export: these screens are built on every button press.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    WebAppInfo,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from shopbot.bot.callbacks import (
    CancelOrderCb,
    CartAction,
    CartCb,
    CatalogAction,
    CatalogCb,
    CheckoutAction,
    CheckoutCb,
    ConsentAnswer,
    ConsentCb,
    ConsentPlace,
    DeliveryCb,
    FavouriteAction,
    FavouriteCb,
    OrdersAction,
    OrdersCb,
    PayAction,
    PayCb,
    PhotoCb,
    SearchCb,
    UnsubscribeCb,
)
from shopbot.bot.prices import price_plain
from shopbot.bot.texts import delivery_button, priced, status_label
from shopbot.models import Order, OrderStatus
from shopbot.money import format_price
from shopbot.payments.cancellation import SHOPPER_CANCELLABLE
from shopbot.services.cart import Cart
from shopbot.services.catalogue import CategoryView, Page, ProductSummary
from shopbot.services.delivery import DeliveryOption
from shopbot.services.favourites import Availability, FavouriteItem
from shopbot.services.orders import REORDERABLE

MENU_CATALOG = __("🛍 Catalogue")
MENU_CART = __("🛒 Cart")
MENU_ORDERS = __("📦 Orders")
MENU_SEARCH = __("🔍 Search")
MENU_HELP = __("❓ Help")
MENU_ADMIN = __("⚙️ Manage")  # admins only: the owner's commands
MAIN_MENU = (MENU_CATALOG, MENU_CART, MENU_ORDERS, MENU_SEARCH, MENU_HELP, MENU_ADMIN)


def main_menu(*, admin: bool = False) -> ReplyKeyboardMarkup:
    """The shopper's menu; an admin's has the way to the owner's commands under it."""
    keyboard = [
        [KeyboardButton(text=str(MENU_CATALOG)), KeyboardButton(text=str(MENU_CART))],
        [
            KeyboardButton(text=str(MENU_ORDERS)),
            KeyboardButton(text=str(MENU_SEARCH)),
            KeyboardButton(text=str(MENU_HELP)),
        ],
    ]
    if admin:
        keyboard.append([KeyboardButton(text=str(MENU_ADMIN))])
    return ReplyKeyboardMarkup(keyboard=keyboard, resize_keyboard=True, is_persistent=True)


Rows = list[list[InlineKeyboardButton]]


def pager_row(page: Page, make: Callable[[int], str], indicator: str) -> list[InlineKeyboardButton]:
    """◀ 2/5 ▶ — arrows only where there is somewhere to go; no row for a single page.

    ``make`` builds a page's callback data; ``indicator`` is the 2/5 button's.
    """
    if page.pages <= 1:
        return []
    buttons = []
    if page.has_prev:
        buttons.append(InlineKeyboardButton(text="◀", callback_data=make(page.page - 1)))
    buttons.append(
        InlineKeyboardButton(text=f"{page.page + 1}/{page.pages}", callback_data=indicator)
    )
    if page.has_next:
        buttons.append(InlineKeyboardButton(text="▶", callback_data=make(page.page + 1)))
    return buttons


def _pager(rows: Rows, page: Page, make: Callable[[int], str]) -> None:
    """The pager row under a shopper's list; its page indicator does nothing."""
    if buttons := pager_row(page, make, CatalogCb(action=CatalogAction.NOOP).pack()):
        rows.append(buttons)


def product_line(product: ProductSummary, number: int | None = None) -> str:
    """A list button: its number in the message's list (:func:`product_list`), then the
    price, then the name, so a phone that cuts the label with "…" cuts the end of the name
    and never the price (or the sold-out mark); the list above has the name in full."""
    mark = "" if product.stock > 0 else "⛔ "
    price = price_plain(product.price, product.sale_price, product.sale_until)
    label = f"{mark}{price} · {product.name}"
    return label if number is None else f"{number} · {label}"


def category_keyboard(view: CategoryView, shop_url: str | None = None) -> InlineKeyboardMarkup:
    """A category's page; the root's ends with favourites and, with ``shop_url``, the Mini
    App storefront."""
    rows: Rows = []
    category_id = view.category.id if view.category else 0
    for child in view.children:
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"📁 {child.name} ({child.product_count})",
                    callback_data=CatalogCb(action=CatalogAction.LIST, category_id=child.id).pack(),
                )
            ]
        )
    for number, product in enumerate(view.products.items, 1):
        rows.append(
            [
                InlineKeyboardButton(
                    text=product_line(product, number),
                    callback_data=CatalogCb(
                        action=CatalogAction.PRODUCT,
                        category_id=category_id,
                        page=view.products.page,
                        product_id=product.id,
                    ).pack(),
                )
            ]
        )
    _pager(
        rows,
        view.products,
        lambda page: CatalogCb(
            action=CatalogAction.LIST, category_id=category_id, page=page
        ).pack(),
    )
    if view.category is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("⬅ Back"),
                    callback_data=CatalogCb(
                        action=CatalogAction.LIST, category_id=view.category.parent_id or 0
                    ).pack(),
                )
            ]
        )
    else:
        rows.append([favourites_button()])  # the root: the way to what the shopper kept
        if shop_url is not None:
            rows.append([open_shop_button(shop_url)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def product_keyboard(
    product_id: int,
    in_cart: int,
    available: bool,
    category_id: int,
    page: int,
    *,
    photo: int = 0,
    photos: int = 0,
    more: bool = False,
    favourite: bool = False,
    share: str | None = None,
    choices: Rows | None = None,
) -> InlineKeyboardMarkup:
    """The card's buttons: ◀ 2/3 ▶ through its ``photos`` (``photo`` shown) when there
    are several, "More" when the card cannot hold the whole description, the product's
    variants to choose from (``choices``, see ``shopbot.bot.variants``), the cart's,
    ♡/♥ (``favourite``: kept already) and, when the bot has inline mode, "Share", which
    lets the shopper pick a chat and types ``@bot <share>`` there."""

    def cb(action: CatalogAction) -> str:
        return CatalogCb(
            action=action, category_id=category_id, page=page, product_id=product_id
        ).pack()

    def turn(to: int) -> str:
        return PhotoCb(
            product_id=product_id, photo=to % photos, category_id=category_id, page=page
        ).pack()

    rows: Rows = []
    if photos > 1:
        rows.append(
            [
                InlineKeyboardButton(text="◀", callback_data=turn(photo - 1)),
                InlineKeyboardButton(text=f"{photo + 1}/{photos}", callback_data=turn(photo)),
                InlineKeyboardButton(text="▶", callback_data=turn(photo + 1)),
            ]
        )
    if more:
        rows.append([InlineKeyboardButton(text=_("📖 More"), callback_data=cb(CatalogAction.MORE))])
    rows += choices or []
    if in_cart:
        # Where "Add to cart" was, full width: quick taps land on it again, each adds one
        # and the count shows at once.
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("🛒 In cart: {n} · ➕").format(n=in_cart),
                    callback_data=cb(CatalogAction.INC),
                )
            ]
        )
        rows.append(
            [
                InlineKeyboardButton(text="➖", callback_data=cb(CatalogAction.DEC)),
                InlineKeyboardButton(
                    text=_("✅ Go to cart"), callback_data=CartCb(action=CartAction.SHOW).pack()
                ),
            ]
        )
    elif available:
        rows.append(
            [InlineKeyboardButton(text=_("🛒 Add to cart"), callback_data=cb(CatalogAction.ADD))]
        )
    keep = FavouriteCb(
        action=FavouriteAction.REMOVE if favourite else FavouriteAction.ADD,
        product_id=product_id,
        category_id=category_id,
        page=page,
    )
    social = [
        InlineKeyboardButton(
            text=_("♥ In favourites") if favourite else _("♡ Add to favourites"),
            callback_data=keep.pack(),
        )
    ]
    if share is not None:
        social.append(InlineKeyboardButton(text=_("📤 Share"), switch_inline_query=share))
    rows.append(social)
    rows.append(
        [
            InlineKeyboardButton(
                text=_("⬅ Back to list"),
                callback_data=CatalogCb(
                    action=CatalogAction.LIST, category_id=category_id, page=page
                ).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def favourites_keyboard(page: Page[FavouriteItem]) -> InlineKeyboardMarkup:
    """Each favourite opens its card; one no longer for sale has ✖ to drop it instead."""
    rows: Rows = []
    for item in page.items:
        if item.availability is Availability.NOT_SOLD:
            data = FavouriteCb(
                action=FavouriteAction.DROP, product_id=item.product_id, page=page.page
            ).pack()
            label = _("✖ {name} — remove").format(name=item.name[:40])
        else:
            data = CatalogCb(  # its Back leads to the product's category
                action=CatalogAction.PRODUCT,
                category_id=item.category_id or 0,
                product_id=item.product_id,
            ).pack()
            mark = "" if item.availability is Availability.IN_STOCK else " ⛔"
            label = f"{item.name} — {format_price(item.price)}{mark}"
        rows.append([InlineKeyboardButton(text=label, callback_data=data)])
    _pager(rows, page, lambda number: FavouriteCb(action=FavouriteAction.LIST, page=number).pack())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def open_shop_button(url: str) -> InlineKeyboardButton:
    """Opens the Mini App storefront (``WEBAPP_URL``)."""
    return InlineKeyboardButton(text=_("🛍 Open the shop"), web_app=WebAppInfo(url=url))


def favourites_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("♥ Favourites"), callback_data=FavouriteCb(action=FavouriteAction.LIST).pack()
    )


def open_in_bot_keyboard(link: str) -> InlineKeyboardMarkup:
    """Under a product shared inline: the product's card in the shop's bot."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("🛍 Open in the shop"), url=link)]]
    )


def search_keyboard(page: Page[ProductSummary]) -> InlineKeyboardMarkup:
    """The products found, each opening its card, and "more" while there are more."""
    rows = _product_rows(page.items, numbered=True)
    pager: list[InlineKeyboardButton] = []
    if page.has_prev:
        pager.append(
            InlineKeyboardButton(text="◀", callback_data=SearchCb(page=page.page - 1).pack())
        )
    if page.has_next:
        left = page.total - (page.page + 1) * len(page.items)
        pager.append(
            InlineKeyboardButton(
                text=_("{n} more ▶").format(n=left),
                callback_data=SearchCb(page=page.page + 1).pack(),
            )
        )
    if pager:
        rows.append(pager)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def nothing_found_keyboard(close: list[ProductSummary]) -> InlineKeyboardMarkup:
    """Products that match part of the query, if any, and the way to the catalogue."""
    rows = _product_rows(close)
    rows.append(
        [
            InlineKeyboardButton(
                text=_("🛍 Open the catalogue"),
                callback_data=CatalogCb(action=CatalogAction.LIST).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def products_keyboard(
    products: Sequence[ProductSummary], *extra: list[InlineKeyboardButton]
) -> InlineKeyboardMarkup:
    """A button a product (opening its card), then the ``extra`` rows."""
    return InlineKeyboardMarkup(inline_keyboard=[*_product_rows(products), *extra])


def _product_rows(products: Sequence[ProductSummary], *, numbered: bool = False) -> Rows:
    """A button a product; ``numbered`` as in the message's :func:`product_list`."""
    return [
        [
            InlineKeyboardButton(
                text=product_line(product, number if numbered else None),
                callback_data=CatalogCb(action=CatalogAction.PRODUCT, product_id=product.id).pack(),
            )
        ]
        for number, product in enumerate(products, 1)
    ]


def cart_keyboard(cart: Cart) -> InlineKeyboardMarkup:
    """A row per cart line, named by its number in the cart's text ("1. Name × 2 = …"):
    four buttons a row leave no room for a name on a phone, a number always fits."""
    rows: Rows = []
    for number, item in enumerate(cart.items, 1):

        def cb(action: CartAction, product_id: int = item.product_id) -> str:
            return CartCb(action=action, product_id=product_id).pack()

        rows.append(
            [
                InlineKeyboardButton(text=f"➖ {number}", callback_data=cb(CartAction.DEC)),
                InlineKeyboardButton(
                    text=f"{number} × {item.quantity}", callback_data=cb(CartAction.NOOP)
                ),
                InlineKeyboardButton(text=f"➕ {number}", callback_data=cb(CartAction.INC)),
                InlineKeyboardButton(text=f"✖ {number}", callback_data=cb(CartAction.REMOVE)),
            ]
        )
    if not cart.is_empty:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("🧹 Clear"), callback_data=CartCb(action=CartAction.CLEAR).pack()
                ),
                InlineKeyboardButton(
                    text=_("✅ Check out"), callback_data=CartCb(action=CartAction.CHECKOUT).pack()
                ),
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def clear_cart_keyboard() -> InlineKeyboardMarkup:
    """Yes / No under "empty the cart?"; No goes back to the cart."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🧹 Yes, empty it"),
                    callback_data=CartCb(action=CartAction.CLEAR_CONFIRMED).pack(),
                ),
                InlineKeyboardButton(
                    text=_("No"), callback_data=CartCb(action=CartAction.SHOW).pack()
                ),
            ]
        ]
    )


def _checkout_row(*buttons: tuple[str, CheckoutAction]) -> InlineKeyboardMarkup:
    """One row of checkout buttons, each a label and the step's action."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=text, callback_data=CheckoutCb(action=action).pack())
                for text, action in buttons
            ]
        ]
    )


def delivery_keyboard(options: list[DeliveryOption], subtotal: int) -> InlineKeyboardMarkup:
    """One option a row, with its price for this cart when the shop charges for any."""
    with_price = priced(options)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=delivery_button(option, subtotal, with_price=with_price),
                    callback_data=DeliveryCb(option=option.id or "").pack(),
                )
            ]
            for option in options
        ]
    )


def name_keyboard(name: str) -> InlineKeyboardMarkup:
    return _checkout_row((name[:60], CheckoutAction.USE_NAME))


def phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def skip_comment_keyboard() -> InlineKeyboardMarkup:
    return _checkout_row((_("Skip"), CheckoutAction.SKIP_COMMENT))


def confirm_keyboard() -> InlineKeyboardMarkup:
    return _checkout_row(
        (_("✅ Confirm"), CheckoutAction.CONFIRM), (_("✖ Cancel"), CheckoutAction.CANCEL)
    )


def orders_keyboard(orders: list[Order], page: Page) -> InlineKeyboardMarkup:
    """One button per order; an order waiting for its payment gets a pay button below it."""
    rows: Rows = []
    for order in orders:
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"№{order.number} · {format_price(order.total)} · "
                    + status_label(order.status),
                    callback_data=OrdersCb(action=OrdersAction.SHOW, order_id=order.id).pack(),
                )
            ]
        )
        if order.status is OrderStatus.AWAITING_PAYMENT:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=_("💳 Pay for №{number}").format(number=order.number),
                        callback_data=PayCb(action=PayAction.PAY, order_id=order.id).pack(),
                    )
                ]
            )
    _pager(rows, page, lambda number: OrdersCb(action=OrdersAction.LIST, page=number).pack())
    return InlineKeyboardMarkup(inline_keyboard=rows)


def order_keyboard(
    order: Order,
    *,
    cancellable: bool = True,
    contact: bool = True,
    back: bool = True,
    payment_failed: bool = False,
) -> InlineKeyboardMarkup:
    """What can still be done with the order; ``cancellable=False`` leaves out Cancel (a
    refund is already on its way), ``contact=False`` the shop's contact (a message that
    only follows the payment), ``back``: a button to the list of orders;
    ``payment_failed``: its latest payment was cancelled, so the shopper may pay again."""
    rows = []
    pay = PayCb(action=PayAction.PAY, order_id=order.id).pack()
    if order.status is OrderStatus.AWAITING_PAYMENT and payment_failed:
        rows.append([InlineKeyboardButton(text=_("💳 Pay again"), callback_data=pay)])
    elif order.status is OrderStatus.AWAITING_PAYMENT:
        rows.append(
            [
                InlineKeyboardButton(text=_("💳 Pay"), callback_data=pay),
                InlineKeyboardButton(
                    text=_("🔄 Check payment"),
                    callback_data=PayCb(action=PayAction.CHECK, order_id=order.id).pack(),
                ),
            ]
        )
    elif order.status in REORDERABLE:
        lost = order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("🛒 Put the items back in the cart") if lost else _("🔁 Order again"),
                    callback_data=OrdersCb(action=OrdersAction.RETURN, order_id=order.id).pack(),
                )
            ]
        )
    if cancellable and order.status in SHOPPER_CANCELLABLE:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("✖ Cancel the order"),
                    callback_data=OrdersCb(action=OrdersAction.CANCEL, order_id=order.id).pack(),
                )
            ]
        )
    if contact:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("💬 Contact the shop"),
                    callback_data=OrdersCb(action=OrdersAction.CONTACT, order_id=order.id).pack(),
                )
            ]
        )
    if back:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("⬅ All orders"),
                    callback_data=OrdersCb(action=OrdersAction.LIST).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def cancel_order_keyboard(order: Order) -> InlineKeyboardMarkup:
    """Yes / No under "are you sure you want to cancel?"."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✖ Yes, cancel the order"),
                    callback_data=CancelOrderCb(order_id=order.id, expect=order.status).pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("⬅ No, keep it"),
                    callback_data=OrdersCb(action=OrdersAction.SHOW, order_id=order.id).pack(),
                )
            ],
        ]
    )


def consent_keyboard() -> InlineKeyboardMarkup:
    """Yes / No under the question asked after the first order."""
    place = ConsentPlace.QUESTION
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ Yes"),
                    callback_data=ConsentCb(answer=ConsentAnswer.YES, place=place).pack(),
                ),
                InlineKeyboardButton(
                    text=_("No, thanks"),
                    callback_data=ConsentCb(answer=ConsentAnswer.NO, place=place).pack(),
                ),
            ]
        ]
    )


def consent_toggle(*, subscribed: bool) -> InlineKeyboardMarkup:
    """The button under /help: subscribe, or unsubscribe when subscribed."""
    if subscribed:
        text, answer = _("🔕 Stop news and discounts"), ConsentAnswer.NO
    else:
        text, answer = _("🔔 Get news and discounts"), ConsentAnswer.YES
    data = ConsentCb(answer=answer, place=ConsentPlace.MENU).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)]]
    )


def with_unsubscribe(markup: InlineKeyboardMarkup | None = None) -> InlineKeyboardMarkup:
    """A promotional message's buttons with "Unsubscribe" under them: every piece of
    advertising carries it, and one tap takes consent back."""
    rows = list(markup.inline_keyboard) if markup is not None else []
    button = InlineKeyboardButton(text=_("🔕 Unsubscribe"), callback_data=UnsubscribeCb().pack())
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [button]])
