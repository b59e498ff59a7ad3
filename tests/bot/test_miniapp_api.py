"""The Mini App's API against the running shop: initData sign-in (forged, expired, another
bot's: 401 and nothing changes), one cart with the chat, orders through the same use case
with the chat told, payments by YooKassa link, Telegram invoice link and cash, rate limits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from shopbot.emulators.telegram import EmulatedUser
from shopbot.emulators.telegram_webapp import init_data_fields, sign_init_data
from shopbot.models import CartLine, Order, OrderStatus, User
from tests.bot.conftest import TOKEN, Catalogue, Shop, ShopFactory, buttons, product
from tests.bot.test_variants import with_variants

SHOPPER = 4242
FORM = {"name": "Анна", "phone": "8 900 765-43-21", "delivery": "pickup", "comment": "Позвоните"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


class App:
    """The Mini App as a shopper's web view calls it: every request signed with the init
    data Telegram gave the shopper."""

    def __init__(self, http: aiohttp.ClientSession, shop: Shop, init_data: str) -> None:
        assert shop.runtime is not None
        self.http = http
        self.base = f"{shop.runtime.web_url}/app/api"
        self.headers = {"Authorization": f"tma {init_data}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.request(
            method, self.base + path, json=body, headers=self.headers
        ) as response:
            return response.status, await response.json()


async def open_app(
    http: aiohttp.ClientSession, shop: Shop, shopper: EmulatedUser, **fields: Any
) -> App:
    """The shopper opens the shop from the catalogue's "🛍 Открыть магазин" button."""
    await shopper.send_text("/catalog")
    url = shop.emulator.web_apps.offered_urls(shopper).pop()
    return App(http, shop, shop.emulator.web_apps.open(shopper, url, **fields))


@pytest.fixture
async def app_shop(shop_factory: ShopFactory, catalogue: Catalogue) -> Shop:
    return await shop_factory(webapp_url="https://shop.example.com")


async def cart_rows(shop: Shop) -> int:
    async with shop.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(CartLine)) or 0


async def test_the_menu_button_and_the_catalogue_open_the_storefront(app_shop: Shop) -> None:
    menu = app_shop.emulator.web_apps.menu_button(None)
    assert menu == {
        "type": "web_app",
        "text": "🛍 Магазин",
        "web_app": {"url": "https://shop.example.com/app/"},
    }
    shopper = app_shop.emulator.user(SHOPPER, "Анна")
    await shopper.send_text("/catalog")
    assert "🛍 Открыть магазин" in buttons(shopper.last)


async def test_no_storefront_url_no_buttons(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory()
    shopper = shop.emulator.user(SHOPPER, "Анна")
    await shopper.send_text("/catalog")
    assert "🛍 Открыть магазин" not in buttons(shopper.last)
    assert shop.emulator.web_apps.menu_button(None) == {"type": "default"}
    assert shop.emulator.count("setChatMenuButton") == 0


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer x",
        "tma ",
        "tma not=init&data=at-all",
        "forged",
        "expired",
        "another bot",
        "no user",
    ],
)
async def test_init_data_that_telegram_did_not_sign_for_this_bot_now_is_refused(
    app_shop: Shop, http: aiohttp.ClientSession, catalogue: Catalogue, authorization: str | None
) -> None:
    shopper = app_shop.emulator.user(SHOPPER, "Анна", language_code="en")
    genuine = (await open_app(http, app_shop, shopper)).headers["Authorization"]
    user = shopper.as_user()
    forged = {
        "forged": genuine.replace("%22Anna%22", "x").replace(str(SHOPPER), "777"),
        "expired": "tma " + sign_init_data(TOKEN, init_data_fields(user, auth_date=1)),
        "another bot": "tma " + sign_init_data("654321:OTHER", init_data_fields(user)),
        "no user": "tma "
        + sign_init_data(TOKEN, {"auth_date": str(int(time.time())), "query_id": "AAH1"}),
    }
    header = forged.get(authorization or "", authorization)
    mug = await product(app_shop, "MUG-1")
    async with http.post(
        f"{app_shop.runtime.web_url}/app/api/cart/{mug.id}",  # type: ignore[union-attr]
        json={"action": "add"},
        headers={"Authorization": header} if header else {},
    ) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "tma"
        body = await response.json()
    # Said in the language the (unsigned) data names, else the shop's.
    english = authorization in ("forged", "expired", "another bot")
    assert ("open the shop again" if english else "Откройте магазин заново") in body["error"]
    assert await cart_rows(app_shop) == 0
    async with app_shop.session_factory() as session:
        assert await session.get(User, 777) is None


async def test_what_is_added_in_the_app_is_in_the_chats_cart_and_back(
    app_shop: Shop, http: aiohttp.ClientSession
) -> None:
    shopper = app_shop.emulator.user(SHOPPER, "Анна")
    app = await open_app(http, app_shop, shopper)
    mug = await product(app_shop, "MUG-1")
    status, cart = await app.call("POST", f"/cart/{mug.id}", {"action": "add"})
    assert status == 200 and cart["count"] == 1
    assert cart["items"][0]["image"] == "media/products/mug.jpg"
    await shopper.send_text("/cart")
    assert "Кружка «Утро»" in shopper.last["text"]

    await shopper.send_text("/start p_TS-01")
    await shopper.press("🛒 В корзину")
    status, cart = await app.call("GET", "/cart")
    assert [item["name"] for item in cart["items"]] == ["Кружка «Утро»", "Футболка 01"]
    status, cart = await app.call("POST", f"/cart/{mug.id}", {"action": "remove"})
    assert [item["name"] for item in cart["items"]] == ["Футболка 01"]


async def test_the_cart_refuses_what_the_shop_has_not(
    app_shop: Shop, http: aiohttp.ClientSession
) -> None:
    app = await open_app(http, app_shop, app_shop.emulator.user(SHOPPER, "Анна"))
    sold_out, hidden = await product(app_shop, "MUG-0"), await product(app_shop, "MUG-H")
    status, body = await app.call("POST", f"/cart/{sold_out.id}", {"action": "add"})
    assert status == 409 and "закончил" in body["error"] and body["count"] == 0
    status, body = await app.call("POST", f"/cart/{hidden.id}", {"action": "add"})
    assert status == 409 and "больше не продаётся" in body["error"]
    status, body = await app.call("POST", f"/cart/{sold_out.id}", {"action": "steal"})
    assert status == 400
    status, _ = await app.call("GET", f"/products/{hidden.id}")
    assert status == 404
    assert await cart_rows(app_shop) == 0


async def test_browse_search_and_a_product_page(
    app_shop: Shop, http: aiohttp.ClientSession
) -> None:
    app = await open_app(http, app_shop, app_shop.emulator.user(SHOPPER, "Анна"))
    status, root = await app.call("GET", "/catalogue")
    assert status == 200
    assert [child["name"] for child in root["children"]] == ["Кружки", "Одежда"]
    assert len(root["products"]) == 14 and root["pages"] == 1  # everything for sale
    assert root["products"][-1]["name"] == "Кружка распродана"  # in stock first
    clothes = root["children"][1]["id"]
    _, below = await app.call("GET", f"/catalogue?category={clothes}")
    assert [c["name"] for c in below["children"]] == ["Футболки"]
    assert len(below["products"]) == 12  # the shirts of the sub-category, in the category
    mugs = root["children"][0]["id"]
    _, page = await app.call("GET", f"/catalogue?category={mugs}")
    assert [p["name"] for p in page["products"]] == ["Кружка «Утро»", "Кружка распродана"]
    _, found = await app.call("GET", "/search?q=кружки")
    assert {p["name"] for p in found["products"]} == {"Кружка «Утро»", "Кружка распродана"}
    mug = await product(app_shop, "MUG-1")
    _, card = await app.call("GET", f"/products/{mug.id}")
    assert card["images"] == ["media/products/mug.jpg"]
    assert card["price_text"] == "490\u00a0₽" and card["in_cart"] == 0
    status, _ = await app.call("GET", "/catalogue?category=99999")
    assert status == 404
    status, body = await app.call("GET", "/catalogue?page=-1")
    assert status == 400 and body == {"error": "Магазин не понял этот запрос.", "field": "page"}


async def test_a_cash_order_from_the_app_is_the_shops_order_and_the_chat_is_told(
    app_shop: Shop, http: aiohttp.ClientSession
) -> None:
    shopper = app_shop.emulator.user(SHOPPER, "Анна")
    app = await open_app(http, app_shop, shopper)
    mug = await product(app_shop, "MUG-1")
    await app.call("POST", f"/cart/{mug.id}", {"action": "add"})
    await app.call("POST", f"/cart/{mug.id}", {"action": "add_one"})
    form = {**FORM, "token": "checkout-token-0001"}
    status, order = await app.call("POST", "/orders", form)
    assert status == 201, order
    assert order["status"] == "awaiting_confirmation" and order["total_text"] == "980\u00a0₽"
    again_status, again = await app.call("POST", "/orders", form)  # a double tap
    assert again_status == 201 and again["id"] == order["id"]
    assert (await product(app_shop, "MUG-1")).stock == 1
    assert await cart_rows(app_shop) == 0
    await app_shop.emulator.wait_handled()
    assert any(f"№{order['number']}" in text for text in shopper.texts())
    async with app_shop.session_factory() as session:
        stored = await session.get(Order, order["id"])
        user = await session.get(User, SHOPPER)
        assert stored is not None and user is not None
        assert stored.contact_phone == "+79007654321" and user.phone == "+79007654321"
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
    status, body = await app.call("POST", f"/orders/{order['id']}/pay")
    assert status == 409 and "при получении" in body["error"]


async def test_a_checkout_with_problems_says_which_and_writes_nothing(
    app_shop: Shop, http: aiohttp.ClientSession
) -> None:
    app = await open_app(http, app_shop, app_shop.emulator.user(SHOPPER, "Анна"))
    mug = await product(app_shop, "MUG-1")
    await app.call("POST", f"/cart/{mug.id}", {"action": "add"})
    status, body = await app.call(
        "POST",
        "/orders",
        {"token": "checkout-token-0002", "name": "", "phone": "12", "delivery": "nope"},
    )
    assert status == 400
    assert set(body["problems"]) == {"name", "phone", "delivery"}
    status, body = await app.call(
        "POST",
        "/orders",
        {**FORM, "delivery": "courier", "address": "", "token": "checkout-token-3"},
    )
    assert status == 400 and set(body["problems"]) == {"address"}
    status, _ = await app.call("POST", "/orders", {**FORM, "token": "short"})
    assert status == 400
    async with app_shop.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert (await product(app_shop, "MUG-1")).stock == 3


async def test_another_shoppers_order_is_not_found(
    app_shop: Shop, http: aiohttp.ClientSession
) -> None:
    app = await open_app(http, app_shop, app_shop.emulator.user(SHOPPER, "Анна"))
    mug = await product(app_shop, "MUG-1")
    await app.call("POST", f"/cart/{mug.id}", {"action": "add"})
    _, order = await app.call("POST", "/orders", {**FORM, "token": "checkout-token-0004"})
    other = await open_app(http, app_shop, app_shop.emulator.user(SHOPPER + 1, "Борис"))
    for method, path in (("GET", ""), ("POST", "/pay")):
        status, body = await other.call(method, f"/orders/{order['id']}{path}")
        assert status == 404 and body["error"] == "Такого заказа нет."


async def test_an_english_shopper_gets_english(app_shop: Shop, http: aiohttp.ClientSession) -> None:
    shopper = app_shop.emulator.user(SHOPPER, "Anna", language_code="en")
    app = await open_app(http, app_shop, shopper)
    status, session = await app.call("GET", "/session")
    assert status == 200
    assert session["language"] == "en" and session["texts"]["add"] == "Add to cart"
    assert session["contact"] == {"name": "Anna", "phone": None}
    assert [option["id"] for option in session["delivery_options"]] == ["pickup", "courier"]


async def test_calls_above_the_rate_limit_wait(
    shop_factory: ShopFactory, catalogue: Catalogue, http: aiohttp.ClientSession
) -> None:
    shop = await shop_factory(webapp_url="https://shop.example.com", webapp_rate_limit="3/minute")
    app = await open_app(http, shop, shop.emulator.user(SHOPPER, "Анна"))
    for _ in range(3):
        assert (await app.call("GET", "/cart"))[0] == 200
    async with http.get(f"{app.base}/cart", headers=app.headers) as response:
        assert response.status == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    # Refused sign-ins count per address: a flood of forged init data is stopped too.
    statuses = []
    for _ in range(4):
        async with http.get(f"{app.base}/cart", headers={"Authorization": "tma x=1"}) as response:
            statuses.append(response.status)
    assert statuses == [401, 401, 401, 429]


async def test_a_yookassa_order_pays_by_link_and_the_chat_gets_its_payment_message(
    yk_shop: Shop, http: aiohttp.ClientSession, catalogue: Catalogue
) -> None:
    shopper = yk_shop.emulator.user(SHOPPER, "Анна")
    await shopper.send_text("/start")
    app = App(http, yk_shop, _signed(yk_shop, shopper))
    mug = await product(yk_shop, "MUG-1")
    await app.call("POST", f"/cart/{mug.id}", {"action": "add"})
    status, order = await app.call("POST", "/orders", {**FORM, "token": "checkout-token-0005"})
    assert status == 201 and order["status"] == "awaiting_payment"
    status, pay = await app.call("POST", f"/orders/{order['id']}/pay")
    assert status == 200 and pay["kind"] == "link" and pay["url"].startswith("http")
    await yk_shop.emulator.wait_handled()
    assert any(f"№{order['number']}" in text for text in shopper.texts())
    assert any("💳" in label for label in buttons(shopper.last))


async def test_a_telegram_order_pays_by_invoice_link(
    shop_factory: ShopFactory, catalogue: Catalogue, http: aiohttp.ClientSession
) -> None:
    shop = await shop_factory(
        payment_provider="telegram",
        telegram_provider_token="123:TEST:provider",
        webapp_url="https://shop.example.com",
    )
    shopper = shop.emulator.user(SHOPPER, "Анна")
    app = await open_app(http, shop, shopper)
    mug = await product(shop, "MUG-1")
    await app.call("POST", f"/cart/{mug.id}", {"action": "add"})
    _, order = await app.call("POST", "/orders", {**FORM, "token": "checkout-token-0006"})
    status, pay = await app.call("POST", f"/orders/{order['id']}/pay")
    assert status == 200 and pay["kind"] == "invoice"
    assert pay["url"].startswith("https://t.me/$")
    assert await shop.emulator.web_apps.pay_invoice_link(shopper, pay["url"])
    _, paid = await app.call("GET", f"/orders/{order['id']}")
    assert paid["status"] == OrderStatus.PAID and paid["status_text"] == "оплачен"
    status, _ = await app.call("POST", f"/orders/{order['id']}/pay")
    assert status == 409


def _signed(shop: Shop, shopper: EmulatedUser) -> str:
    """Init data for a shop without WEBAPP_URL (as a test environment's direct link)."""
    return sign_init_data(shop.emulator.token, init_data_fields(shopper.as_user()))


async def test_a_cart_that_ran_out_since_it_was_shown_is_not_ordered(
    app_shop: Shop, http: aiohttp.ClientSession
) -> None:
    app = await open_app(http, app_shop, app_shop.emulator.user(SHOPPER, "Анна"))
    mug = await product(app_shop, "MUG-1")
    await app.call("POST", f"/cart/{mug.id}", {"action": "add"})
    # Someone else buys the last mugs meanwhile (the chat, another shopper).
    other = await open_app(http, app_shop, app_shop.emulator.user(SHOPPER + 1, "Борис"))
    for _ in range(3):
        await other.call("POST", f"/cart/{mug.id}", {"action": "add"})
    status, _ = await other.call("POST", "/orders", {**FORM, "token": "checkout-token-0007"})
    assert status == 201 and (await product(app_shop, "MUG-1")).stock == 0

    status, body = await app.call("POST", "/orders", {**FORM, "token": "checkout-token-0008"})
    assert status == 409
    assert "закончился" in body["error"] and "Кружка «Утро»" in body["error"]
    assert body["items"] == [] and body["can_check_out"] is False  # the sold-out line went
    async with app_shop.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1


async def test_a_product_sold_as_variants_offers_them_and_the_chosen_one_goes_in_the_cart(
    shop_factory: ShopFactory, http: aiohttp.ClientSession, media_dir: Path
) -> None:
    shop = await shop_factory(webapp_url="https://shop.example.com")
    await with_variants(shop, media_dir)
    shopper = shop.emulator.user(SHOPPER, "Анна")
    app = await open_app(http, shop, shopper)
    shirt = await product(shop, "TSH-9")
    white = await product(shop, "TSH-9-M-W")

    status, grid = await app.call("GET", "/catalogue")
    shown = {item["name"]: (item["price"], item["stock"]) for item in grid["products"]}
    assert shown["Футболка «Волна»"] == (149000, 5)  # once: its lowest price, its variants' stock
    assert [name for name in shown if " — " in name] == []  # no variant as a tile of its own
    status, page = await app.call("GET", f"/products/{shirt.id}")
    assert status == 200
    assert [(v["label"], v["price"], v["stock"]) for v in page["variants"]] == [
        ("S, чёрная", 149000, 3),
        ("M, чёрная", 149000, 0),
        ("M, белая", 169000, 2),
    ]
    status, cart = await app.call("POST", f"/cart/{white.id}", {"action": "add"})
    assert status == 200 and [item["name"] for item in cart["items"]] == [
        "Футболка «Волна» — M, белая"
    ]
    status, page = await app.call("GET", f"/products/{shirt.id}")
    assert [v["in_cart"] for v in page["variants"]] == [0, 0, 1]
    # The product itself is not for sale: only its variants are.
    status, cart = await app.call("POST", f"/cart/{shirt.id}", {"action": "add"})
    assert status == 409 and cart["count"] == 1
    await shopper.send_text("/cart")
    assert "Футболка «Волна» — M, белая" in shopper.last["text"]
