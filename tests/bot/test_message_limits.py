"""Every message built from what the owner or a shopper typed is one Telegram accepts.

Random names, descriptions, addresses, comments, SKUs and reasons (markup characters,
entities, emoji outside the BMP, very long strings) go through each renderer, and the result
is checked with the Bot API emulator's own HTML parser and limits. Then the two journeys
that used to get stuck: the staff alert for an order with very long shopper text, and a
product with a long name running out at Confirm.
"""

from __future__ import annotations

import asyncio
import operator
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from shopbot.bot.admin_alerts import alert_attention, alert_low_stock, alert_new_order
from shopbot.bot.clock import shop_clock
from shopbot.bot.i18n import create_i18n
from shopbot.bot.notifier import shopper_status_text
from shopbot.bot.render import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    Typed,
    clip,
    compose,
    cut,
    fit,
    visible_length,
)
from shopbot.bot.routers.admin.texts import (
    EVENT_LABELS,
    import_errors,
    import_summary,
    order_admin_card,
    product_admin_card,
    stats_text,
    stock_changed,
    subscribers_text,
)
from shopbot.bot.texts import (
    DESCRIPTION_MESSAGES,
    adjustments_text,
    card_is_cut,
    cart_text,
    category_title,
    checkout_summary,
    description_messages,
    order_card,
    product_card,
    ran_out,
)
from shopbot.config import load_settings
from shopbot.emulators.telegram import CALLBACK_ANSWER_MAX, CAPTION_MAX, TEXT_MAX
from shopbot.emulators.telegram_format import format_text, parse_html, utf16_len
from shopbot.i18n import Text
from shopbot.importer import ImportProblem, ImportReport
from shopbot.importer.changes import FieldChange, ProductChange
from shopbot.models import (
    ConsentSource,
    DeliveryMethod,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Product,
    User,
)
from shopbot.money import format_price
from shopbot.services import cart, orders
from shopbot.services.admin import HistoryEntry
from shopbot.services.cart import Adjustment, Cart, CartItem, LineIssue
from shopbot.services.delivery import DeliveryOption
from shopbot.services.marketing import ConsentChange, SubscriberFigures
from shopbot.services.orders import Checkout
from shopbot.services.stats import Figures, TopProduct
from tests.bot.conftest import Catalogue, Shop, ShopFactory
from tests.factories import make_product, make_user

i18n = create_i18n()
MOSCOW = ZoneInfo("Europe/Moscow")
ADMIN = 900
NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)

# Pieces that break naive HTML: markup characters, entities and tags as text, characters
# outside the BMP (two UTF-16 units), a joiner, a newline.
TOKENS = ["<", ">", "&", '"', "'", " ", "\n", "a", "я", "é", "😀", "𝔘", "\u200d"]
TOKENS += ["&amp;", "&lt;", "<b>", "</b>", "<i>x</i>", "&#60;", "слово "]


def typed(max_size: int = 5000) -> st.SearchStrategy[str]:
    """Text a person could type: anything short, hostile mixtures, and long runs."""
    return st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(TOKENS), max_size=60).map("".join),
        st.builds(operator.mul, st.sampled_from(TOKENS), st.integers(0, max_size)),
    )


def nonempty(max_size: int = 5000) -> st.SearchStrategy[str]:
    return typed(max_size).filter(lambda text: text.strip() != "")


languages = st.sampled_from(["ru", "en"])
prices = st.integers(0, 10**9)
quantities = st.integers(1, 999)
SETTINGS = settings(max_examples=25, deadline=None)


def accepted(html: str, limit: int) -> str:
    """The plain text Telegram makes of ``html``; fails as Telegram refuses it."""
    parsed = format_text(html, "HTML", None)  # raises ApiFailure on broken HTML
    assert len(parsed.text) <= limit, len(parsed.text)
    assert utf16_len(parsed.text) <= limit  # the renderers count UTF-16 units: never more
    return parsed.text


def accepted_text(html: str) -> str:
    text = accepted(html, TEXT_MAX)
    assert text, "message text is empty"
    return text


def plain(html: str) -> str:
    return parse_html(html)[0]


@st.composite
def products(draw: st.DrawFn) -> Product:
    return Product(
        id=draw(st.integers(1, 10**6)),
        sku=draw(nonempty(200)),
        name=draw(nonempty()),
        price=draw(prices),
        stock=draw(st.integers(0, 10**6)),
        active=draw(st.booleans()),
        description=draw(typed(8000)),
    )


@st.composite
def carts(draw: st.DrawFn) -> Cart:
    items = [
        CartItem(
            product_id=number,
            sku=draw(nonempty(100)),
            name=draw(nonempty()),
            unit_price=draw(prices),
            quantity=draw(quantities),
            stock=draw(st.integers(0, 1000)),
            active=draw(st.booleans()),
        )
        for number in range(draw(st.integers(1, cart.MAX_CART_LINES)))
    ]
    adjustments = [
        Adjustment(
            name=draw(nonempty()),
            issue=draw(st.sampled_from(list(LineIssue))),
            old_quantity=draw(quantities),
            new_quantity=draw(st.integers(0, 999)),
        )
        for _number in range(draw(st.integers(0, cart.MAX_CART_LINES)))
    ]
    return Cart(items, adjustments)


@st.composite
def orders_(draw: st.DrawFn) -> Order:
    lines = [
        OrderLine(
            sku=draw(nonempty(200)),
            name=draw(nonempty()),
            unit_price=draw(prices),
            quantity=draw(quantities),
        )
        for _number in range(draw(st.integers(1, 35)))
    ]
    delivery = draw(st.sampled_from(list(DeliveryMethod)))
    delivery_price = draw(st.sampled_from([0, 35000]))
    order = Order(
        id=draw(st.integers(1, 10**6)),
        number=str(draw(st.integers(1000, 10**9))),
        user_id=draw(st.integers(1, 10**12)),
        status=draw(st.sampled_from(list(OrderStatus))),
        total=draw(prices) + delivery_price,
        delivery_price=delivery_price,
        delivery_option=draw(typed(64)) or None,
        pickup_point=draw(typed(400)) or None,
        contact_name=draw(nonempty()),
        contact_phone=draw(nonempty(100)),
        delivery_method=delivery,
        delivery_address=draw(typed(9000)) or None,
        comment=draw(typed(9000)) or None,
        payment_provider=draw(nonempty(100)),
        attention=draw(typed()) or None,
        created_at=NOW,
    )
    order.lines = lines
    return order


@st.composite
def events(draw: st.DrawFn) -> list[OrderEvent]:
    found = []
    for _number in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from([*EVENT_LABELS, "status", "something_new"]))
        found.append(
            OrderEvent(
                at=NOW,
                actor=draw(nonempty(300)),
                kind=kind,
                from_status=draw(st.sampled_from([None, *[s.value for s in OrderStatus]])),
                to_status=draw(st.sampled_from([s.value for s in OrderStatus])),
                details={"payment_status": draw(typed(300)), "refund_status": "succeeded"},
            )
        )
    return found


shoppers = st.none() | st.builds(
    User, id=st.integers(1, 10**6), first_name=typed(1000), username=typed(100) | st.none()
)


def total_line(total: int, delivery_price: int = 0) -> str:
    """The total line as the shopper or owner reads it (call within a locale)."""
    if delivery_price:
        return plain(
            _("Total: <b>{total}</b> (goods {goods} + delivery {delivery})").format(
                total=format_price(total),
                goods=format_price(total - delivery_price),
                delivery=format_price(delivery_price),
            )
        )
    return plain(_("Total: <b>{total}</b>").format(total=format_price(total)))


# ------------------------------------------------------------------ the cutting itself


@given(body=typed(3000), limit=st.integers(0, 500))
def test_fit_cuts_only_the_typed_text_and_never_splits_an_entity(body: str, limit: int) -> None:
    head, tail = "<b>Заголовок &amp; ко</b>\n", "\n<i>хвост</i>"
    fixed = visible_length(head) + visible_length(tail)
    text = fit(head, body, fixed + limit, tail)
    accepted(text, fixed + limit)
    assert text.startswith(head) and text.endswith(tail)


@given(pieces=st.lists(typed(3000), min_size=1, max_size=8), limit=st.integers(70, 600))
def test_compose_keeps_every_fixed_line_and_cuts_the_longest_typed_text(
    pieces: list[str], limit: int
) -> None:
    lines = [["<b>Поле:</b> ", Typed(piece)] for piece in pieces] + ["<b>Итого</b>: 1 ₽"]
    text = plain(compose(limit, lines))
    assert utf16_len(text) <= limit
    assert text.count("Поле: ") == len(pieces) and text.endswith("Итого: 1 ₽")
    shortest = min(pieces, key=utf16_len)
    if utf16_len(shortest) * len(pieces) <= limit - 8 * len(pieces) - 9:
        assert shortest in text  # what fits in a fair share is not cut


@given(html_parts=st.lists(st.tuples(typed(2000), st.sampled_from(["b", "i", "code"]))))
def test_clip_keeps_markup_balanced_within_the_limit(html_parts: list[tuple[str, str]]) -> None:
    html = "".join(f"<{tag}>{fit('', text, 10**6)}</{tag}>\n" for text, tag in html_parts)
    html += "end"
    accepted(clip(html, 300), 300)


def test_cut_counts_emoji_outside_the_bmp_twice() -> None:
    assert cut("😀" * 10, 6) == "😀😀…"
    assert cut("abc", 0) == ""


# ------------------------------------------------------------------ the shopper's messages


@SETTINGS
@given(product=products(), photo=st.booleans(), language=languages)
def test_product_card(product: Product, photo: bool, language: str) -> None:
    with i18n.context(), i18n.use_locale(language):
        card = product_card(product, photo=photo)
        price = format_price(product.price)
    text = accepted(card, CAPTION_MAX if photo else TEXT_MAX)
    assert price in text


@SETTINGS
@given(product=products(), description=typed(30000))
def test_more_sends_the_whole_description_in_messages_telegram_takes(
    product: Product, description: str
) -> None:
    """Every piece parses and fits; together they are the name and the whole description
    (whitespace where they were split aside), unless it takes more than ten messages."""
    product.description = description
    with i18n.context():
        pieces = [accepted(text, TEXT_MAX) for text in description_messages(product)]
        card = accepted(product_card(product, photo=True), CAPTION_MAX)
        cut = card_is_cut(product, photo=True)
    assert len(pieces) <= DESCRIPTION_MESSAGES
    if not cut:  # then the card holds it all, and offers no More
        assert description.strip() in card
    if utf16_len(product.name) <= 100 and len(pieces) < DESCRIPTION_MESSAGES:
        squeezed = re.sub(r"\s+", "", "".join(pieces))
        assert squeezed == re.sub(r"\s+", "", product.name + description)


@SETTINGS
@given(name=typed(), total=st.integers(0, 10**6), language=languages)
def test_category_title(name: str, total: int, language: str) -> None:
    with i18n.context(), i18n.use_locale(language):
        accepted_text(category_title(name, total))


@SETTINGS
@given(current=carts(), language=languages)
def test_cart_with_its_changes_is_one_message_that_keeps_the_total(
    current: Cart, language: str
) -> None:
    with i18n.context(), i18n.use_locale(language):
        text = cart_text(current)
        if current.adjustments:  # as routers/cart.py shows them
            text = adjustments_text(current.adjustments) + "\n\n" + text
        total = total_line(current.total)
    assert accepted_text(text).endswith(total)


@SETTINGS
@given(
    current=carts(),
    name=nonempty(100),
    phone=nonempty(40),
    courier=st.booleans(),
    address=typed(600),
    comment=typed(600),
    option_name=typed(64),
    point=typed(256),
    delivery_price=st.sampled_from([0, 35000]),
    with_price=st.booleans(),
    language=languages,
)
def test_checkout_summary_keeps_the_total_and_short_answers_whole(
    current: Cart,
    name: str,
    phone: str,
    courier: bool,
    address: str,
    comment: str,
    option_name: str,
    point: str,
    delivery_price: int,
    with_price: bool,
    language: str,
) -> None:
    option = DeliveryOption(
        id="o",
        kind=DeliveryMethod.COURIER if courier else DeliveryMethod.PICKUP,
        name=option_name[:64],
        address="" if courier else point[:256],
        hours=point[:128],
        price=f"{delivery_price // 100}",
    )
    data = {
        "name": name,
        "phone": phone,
        "delivery": "courier" if courier else "pickup",
        "address": address if courier else None,
        "comment": comment,
        "token": "t",
    }
    with i18n.context(), i18n.use_locale(language):
        text = checkout_summary(current, data, option, with_price=with_price)
        if current.adjustments:  # as routers/checkout.py shows them
            text = adjustments_text(current.adjustments) + "\n\n" + text
        total = total_line(current.total + delivery_price, delivery_price)
    parsed = accepted_text(text)
    assert parsed.endswith(total)
    if utf16_len(name) <= 30 and name == name.strip():
        assert name in parsed


@SETTINGS
@given(order=orders_(), language=languages)
def test_order_card_and_status_texts(order: Order, language: str) -> None:
    with i18n.context(), i18n.use_locale(language), shop_clock(MOSCOW):
        card = order_card(order)
        total = total_line(order.total, order.delivery_price)
        status = shopper_status_text(order)
    assert total in accepted_text(card)
    accepted_text(status)


@SETTINGS
@given(name=nonempty(), language=languages)
def test_the_ran_out_answer_is_a_callback_answer_telegram_takes(name: str, language: str) -> None:
    with i18n.context(), i18n.use_locale(language):
        answer = ran_out(name)
    assert 0 < len(answer) <= CALLBACK_ANSWER_MAX
    if utf16_len(name) <= 100:  # what fits: the limit counts UTF-16 units, as Telegram
        assert name in answer


# ------------------------------------------------------------------ the owner's messages


@SETTINGS
@given(order=orders_(), shopper=shoppers, history=events(), language=languages)
def test_order_admin_card_keeps_number_contact_and_total(
    order: Order, shopper: User | None, history: list[OrderEvent], language: str
) -> None:
    with i18n.context(), i18n.use_locale(language), shop_clock(MOSCOW):
        card = order_admin_card(order, shopper, history)
        total = total_line(order.total, order.delivery_price)
    text = accepted_text(card)
    assert f"№{order.number}" in text and total in text


@SETTINGS
@given(
    product=products(),
    held=st.integers(0, 10**6),
    history=st.lists(
        st.builds(
            HistoryEntry,
            at=st.just(NOW),
            actor=nonempty(300),
            kind=st.sampled_from(["price", "hidden", "shown", "import", "stock"]),
            old=st.sampled_from([None, "1", "129900"]),
            new=st.sampled_from(["0", "5", "490000"]),
        ),
        max_size=5,
    ),
    language=languages,
)
def test_product_admin_card(
    product: Product, held: int, history: list[HistoryEntry], language: str
) -> None:
    with i18n.context(), i18n.use_locale(language), shop_clock(MOSCOW):
        accepted_text(product_admin_card(product, held, history))


@SETTINGS
@given(name=nonempty(), sku=nonempty(300), old=st.integers(0, 10**6), language=languages)
def test_stock_changed(name: str, sku: str, old: int, language: str) -> None:
    with i18n.context(), i18n.use_locale(language):
        accepted_text(stock_changed(name, sku, old, old + 1, held=old))


problems = st.builds(
    ImportProblem,
    line=st.integers(1, 10**6) | st.none(),
    column=typed(100) | st.none(),
    code=st.just("bad"),
    text=st.builds(Text, st.just("{value}"), st.fixed_dictionaries({"value": typed()})),
)


changes = st.builds(
    ProductChange,
    sku=nonempty(64),
    name=nonempty(256),
    created=st.booleans(),
    fields=st.lists(
        st.one_of(
            st.builds(FieldChange, st.just("name"), typed(256), typed(256)),
            st.builds(FieldChange, st.just("price"), prices, prices),
            st.builds(FieldChange, st.just("category"), typed(512), typed(512)),
            st.builds(FieldChange, st.just("active"), st.booleans(), st.booleans()),
        ),
        min_size=1,
        max_size=6,
    ).map(tuple),
)


@SETTINGS
@given(
    warnings=st.lists(problems, max_size=8),
    errors=st.lists(problems, min_size=1, max_size=25),
    changed=st.lists(changes, max_size=14),
    dry_run=st.booleans(),
    language=languages,
)
def test_import_reports(
    warnings: list[ImportProblem],
    errors: list[ImportProblem],
    changed: list[ProductChange],
    dry_run: bool,
    language: str,
) -> None:
    with i18n.context(), i18n.use_locale(language):
        summary = import_summary(
            ImportReport(warnings=warnings, dry_run=dry_run, rows=3, changes=changed)
        )
        failed = import_errors(ImportReport(errors=errors, rows=3))
    accepted_text(summary)
    accepted_text(failed)


@SETTINGS
@given(
    tops=st.lists(
        st.builds(TopProduct, sku=typed(64), name=typed(), quantity=quantities, revenue=prices),
        max_size=10,
    ),
    language=languages,
)
def test_stats(tops: list[TopProduct], language: str) -> None:
    periods = [Figures(days, NOW, 5, 3, 10**6, 9, tops) for days in (1, 7, 30)]
    big = 10**9
    audience = SubscriberFigures(
        big, big, big, big, big, dict.fromkeys(ConsentSource, big), NOW, big, big
    )
    latest = [
        ConsentChange(NOW, granted, source, 10**12, "Я" * 256, "u" * 64)
        for source in ConsentSource
        for granted in (True, False)
    ] * 2
    with i18n.context(), i18n.use_locale(language), shop_clock(MOSCOW):
        accepted_text(stats_text(periods, audience))
        accepted_text(subscribers_text(audience, 30, latest))


# ------------------------------------------------------------------ what is sent to staff


@dataclass
class RecordingBot:
    """Stands in for aiogram's Bot where only the sent texts matter."""

    sent: list[str] = field(default_factory=list)

    async def send_message(self, chat_id: int, text: str, **_: Any) -> None:
        self.sent.append(text)


@dataclass
class OrderSession:
    """The two reads ``order_card_of`` makes: the shopper and the order's events."""

    shopper: User | None
    history: list[OrderEvent]

    async def get(self, _model: type, _key: int) -> User | None:
        return self.shopper

    async def scalars(self, _statement: object) -> list[OrderEvent]:
        return self.history


@SETTINGS
@given(order=orders_(), shopper=shoppers, history=events(), language=languages)
def test_new_order_alert_is_sent_whole(
    order: Order, shopper: User | None, history: list[OrderEvent], language: str
) -> None:
    config = load_settings(admin_chat_id=-100, default_language=language, _env_file=None)
    bot = RecordingBot()
    session = OrderSession(shopper, history)
    asyncio.run(alert_new_order(bot, config, session, order))  # type: ignore[arg-type]
    with i18n.context(), i18n.use_locale(language):
        total = total_line(order.total, order.delivery_price)
    (text,) = bot.sent
    assert total in accepted_text(text)


@SETTINGS
@given(order=orders_(), reason=typed(6000), language=languages)
def test_needs_attention_message(order: Order, reason: str, language: str) -> None:
    config = load_settings(admin_chat_id=-100, default_language=language, _env_file=None)
    bot = RecordingBot()
    session = OrderSession(None, [])
    asyncio.run(alert_attention(bot, config, session, order, reason))  # type: ignore[arg-type]
    (text,) = bot.sent
    accepted_text(text)


# ------------------------------------------------------------------ the journeys


async def test_staff_get_the_new_order_alert_for_a_4096_character_address_and_comment(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(admin_ids=[ADMIN])
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    address, comment = "<" * 4096, "&" * 4096
    async with shop.session_factory() as session:
        await make_user(session, 101)
        mug = await session.scalar(select(Product).where(Product.sku == "MUG-1"))
        assert mug is not None
        await cart.set_quantity(session, 101, mug.id, 1)
        order = await orders.place_order(
            session,
            101,
            Checkout("Анна <&>", "+79001234567", DeliveryMethod.COURIER, address, comment),
            token="long-text",
            payment_provider="cash",
            payment_timeout=None,
        )
        sent = len(owner.messages)
        await alert_new_order(shop.bot, shop.settings, session, order)
    assert len(owner.messages) == sent + 1
    alert = owner.last["text"]
    assert "Новый заказ с оплатой при получении" in alert and "Анна <&>" in alert
    assert "Адрес: <<<" in alert and "Комментарий: &&&" in alert
    assert "Итого: 490\u00a0₽" in alert
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_a_checkout_of_markup_characters_reaches_confirm_and_the_staff(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    """The shopper's longest address and comment, all ``<`` and ``&``: the summary keeps
    its total, Confirm places the order, and the staff's alert is delivered."""
    shop = await shop_factory(admin_ids=[ADMIN])
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    shopper = shop.emulator.user(103, "Пётр")
    await shopper.send_text("/start p_MUG-1")
    await shopper.press("🛒 В корзину")
    await shopper.send_text("/cart")
    await shopper.press("✅ Оформить заказ")
    await shopper.send_text("Пётр")
    await shopper.send_text("8 (900) 765-43-21")
    await shopper.press("🚚 Курьером")
    await shopper.send_text("<" * 500)
    await shopper.send_text("&" * 500)
    summary = shopper.last["text"]
    assert "<" * 500 in summary and "&" * 500 in summary
    assert summary.endswith("Итого: 490\u00a0₽")
    await shopper.press("✅ Подтвердить")
    assert "Заказ №" in shopper.last["text"]
    (alert,) = [m["text"] for m in owner.messages if "Новый заказ" in m.get("text", "")]
    assert "Итого: 490\u00a0₽" in alert
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_a_250_character_name_running_out_at_confirm_lets_the_shopper_go_on(
    shop: Shop, catalogue: Catalogue
) -> None:
    name = ("Очень длинное название & <товар> 😀 " * 8)[:250]
    async with shop.session_factory() as session:
        long_one = await make_product(session, name, sku="LONG-1", price=10000, stock=2)
    shopper = shop.emulator.user(104, "Пётр")
    await shopper.send_text("/start p_LONG-1")
    await shopper.press("🛒 В корзину")
    await shopper.send_text("/cart")
    await shopper.press("✅ Оформить заказ")
    await shopper.send_text("Пётр")
    await shopper.send_text("8 (900) 765-43-21")
    await shopper.press("🏬 Самовывоз")
    await shopper.send_text("Позвоните заранее")
    async with shop.session_factory() as session:
        await session.execute(update(Product).where(Product.id == long_one.id).values(stock=0))
        await session.commit()

    answer = await shopper.press("✅ Подтвердить")
    assert answer is not None and answer.show_alert
    assert answer.text is not None
    assert answer.text.startswith("Извините, этот товар только что закончился: Очень длинное")
    cart_now = shopper.last["text"]  # back at the cart, which says what changed and why
    assert "нет в наличии, убрали из корзины" in cart_now and "Корзина пуста" in cart_now

    # The shopper goes on: another product in, an order placed.
    await shopper.send_text("/start p_MUG-1")
    await shopper.press("🛒 В корзину")
    await shopper.send_text("/cart")
    await shopper.press("✅ Оформить заказ")
    await shopper.send_text("Пётр")
    await shopper.send_text("8 (900) 765-43-21")
    await shopper.press("🏬 Самовывоз")
    await shopper.send_text("Позвоните заранее")
    await shopper.press("✅ Подтвердить")
    assert "Заказ №" in shopper.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_a_low_stock_alert_of_many_long_names_is_delivered(
    shop_factory: ShopFactory,
) -> None:
    """The list is put together outside the renderers: the send call's guard keeps it."""
    shop = await shop_factory(admin_ids=[ADMIN])
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    async with shop.session_factory() as session:
        low = [
            await make_product(session, "<&> 😀 " * 36, sku=f"LOW-{n:02d}", stock=1)
            for n in range(40)
        ]
    sent = len(owner.messages)
    async with shop.session_factory() as session:
        rows = [{"id": p.id, "sku": p.sku, "name": p.name, "stock": p.stock} for p in low]
        await alert_low_stock(shop.bot, shop.settings, session, 3, rows)
    assert len(owner.messages) == sent + 1
    assert owner.last["text"].startswith("📉 Заканчиваются")
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


def test_limits_agree_with_the_emulator() -> None:
    assert (TEXT_LIMIT, CAPTION_LIMIT) == (TEXT_MAX, CAPTION_MAX)
