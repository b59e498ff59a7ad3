"""The Mini App storefront: its page under ``/app/`` and its JSON API under ``/app/api/``.

Who is calling is taken only from Telegram's ``initData``, which the page sends with every
call as ``Authorization: tma <initData>``: it must carry the HMAC Telegram made with this
bot's token (aiogram's ``safe_parse_webapp_init_data``), an ``auth_date`` at most
``WEBAPP_INIT_MAX_AGE`` old and a user. Anything else is 401 before anything is read or
written, so init data forged, expired or signed for another bot changes nothing. No cookie is
set or read: a browser never sends the header by itself, so another site cannot make a
shopper's browser act here (CSRF needs ambient credentials), and without CORS headers it
cannot read the answers either. Calls are counted per shopper, refused sign-ins per client
address (``WEBAPP_RATE_LIMIT``; 429 with ``Retry-After`` over it).

The API speaks the shopper's language (initData's ``user.language_code``) and returns prices
both in kopecks and as the shop writes them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from aiogram.utils.web_app import (
    WebAppInitData,
    WebAppUser,
    parse_webapp_init_data,
    safe_parse_webapp_init_data,
)
from aiohttp import web
from aiohttp.typedefs import Handler
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot import jsonsafe
from shopbot.cache import TableCache
from shopbot.config import Settings
from shopbot.db import commit_hooks
from shopbot.errors import (
    CartFull,
    EmptyCart,
    OrderNotFound,
    OrderTooLarge,
    OutOfStock,
    ProductNotFound,
    ProductUnavailable,
)
from shopbot.i18n import LANGUAGES, Text, known_language
from shopbot.importer.images import STORE_FOLDER
from shopbot.models import Order, OrderStatus, User
from shopbot.money import format_price
from shopbot.payments.base import STATUS_WORDS, NotPayable, PaymentError, PaymentProvider
from shopbot.search import SearchEngine
from shopbot.services import cart, orders, storefront
from shopbot.services.cart import Cart, LineChange
from shopbot.services.catalogue import CATALOGUE, CatalogueCache, Page, ProductSummary
from shopbot.services.users import Profile, UserDirectory
from shopbot.web import miniapp_texts as texts
from shopbot.web.yookassa import client_address

PREFIX = "/app"
STATIC_DIR = Path(str(files("shopbot.web") / "static" / "miniapp"))
PAGE_SIZE = 24
SEARCH_LIMIT = 200  # characters of a query
FUTURE_SKEW = 60  # seconds an auth_date may be ahead of our clock

# Creates a Telegram invoice link for an order, its texts in the given language.
InvoiceLinks = Callable[[Order, str], Awaitable[str]]


def storefront_url(settings: Settings) -> str | None:
    """The Mini App's address (``WEBAPP_URL/app/``), None when the shop has none."""
    return f"{settings.webapp_url}{PREFIX}/" if settings.webapp_url else None


@dataclass(frozen=True)
class Shopper:
    """The caller, as Telegram's signed init data says."""

    user: WebAppUser
    language: str


@dataclass
class MiniApp:
    """What the API works with: the shop's own catalogue cache and search engine (those of
    the dispatcher, so the chat and the app see one catalogue), and for Telegram payments
    the bot's invoice links."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    provider: PaymentProvider
    catalogue: CatalogueCache
    search: SearchEngine
    invoice_links: InvoiceLinks | None = None

    def __post_init__(self) -> None:
        assert self.settings.bot_token is not None
        self._token = self.settings.bot_token.get_secret_value()
        hooks = commit_hooks(self.session_factory)
        self._users = UserDirectory(hooks)
        # The grid's pages, kept as the chat's category pages are (CATALOGUE_CACHE_SECONDS).
        self._pages: TableCache[tuple[Page[ProductSummary], dict[int, str]]] = TableCache(
            hooks, CATALOGUE, max_age=self.settings.catalogue_cache_seconds
        )
        self._limit: RateLimitItem = parse(self.settings.webapp_rate_limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    # ------------------------------------------------------------------ sign-in

    def authenticate(self, header: str, now: float | None = None) -> WebAppInitData:
        """The init data of ``Authorization: tma <initData>`` if Telegram signed it for this
        bot, recently, for a user; ValueError otherwise."""
        scheme, _, init_data = header.partition(" ")
        if scheme.lower() != "tma" or not init_data.strip():
            raise ValueError("no tma authorization")
        data = safe_parse_webapp_init_data(self._token, init_data.strip(), loads=jsonsafe.loads)
        age = (now if now is not None else time.time()) - data.auth_date.timestamp()
        if age > self.settings.webapp_init_max_age or age < -FUTURE_SKEW:
            raise ValueError("init data expired")
        if data.user is None:
            raise ValueError("init data without a user")
        return data

    def language(self, user: WebAppUser | None) -> str:
        code = (user.language_code or "").lower()[:2] if user else ""
        return code if code in LANGUAGES else known_language(self.settings.default_language)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Signs in every API call and counts it; other paths (the page) pass."""
        if not request.path.startswith(f"{PREFIX}/api/"):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        try:
            data = self.authenticate(header)
        except ValueError:
            address = client_address(request, self.settings.trusted_proxies)
            await self._count(f"signin:{address}", self._unverified_language(header))
            raise _json_error(
                web.HTTPUnauthorized,
                Text(texts.UNAUTHORIZED),
                self._unverified_language(header),
                headers={"WWW-Authenticate": "tma"},
            ) from None
        assert data.user is not None
        shopper = Shopper(data.user, self.language(data.user))
        await self._count(f"user:{data.user.id}", shopper.language)
        request[SHOPPER] = shopper
        return await handler(request)

    def _unverified_language(self, header: str) -> str:
        """The language of a refusal: the unsigned data may say which (nothing else of it
        is used)."""
        try:
            return self.language(parse_webapp_init_data(header.partition(" ")[2]).user)
        except ValueError:
            return known_language(self.settings.default_language)

    async def _count(self, key: str, language: str) -> None:
        if await self._limiter.hit(self._limit, key):
            return
        stats = await self._limiter.get_window_stats(self._limit, key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise _json_error(
            web.HTTPTooManyRequests, Text(texts.TOO_MANY), language, {"Retry-After": str(wait)}
        )

    async def _session_user(self, session: AsyncSession, shopper: Shopper) -> None:
        """The shopper's row, created or refreshed as the bot does for an update."""
        user = shopper.user
        await self._users.ensure(
            session,
            Profile(
                id=user.id,
                first_name=user.first_name or "",
                last_name=user.last_name,
                username=user.username,
                language=shopper.language,
            ),
        )

    # ------------------------------------------------------------------ routes

    def add_routes(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        app.router.add_get(f"{PREFIX}", _to_slash)
        app.router.add_get(f"{PREFIX}/", _index)
        app.router.add_static(f"{PREFIX}/static", STATIC_DIR)
        media = self.settings.media_dir / STORE_FOLDER
        media.mkdir(parents=True, exist_ok=True)
        app.router.add_static(f"{PREFIX}/media/{STORE_FOLDER}", media)
        api = f"{PREFIX}/api"
        app.router.add_get(f"{api}/session", self.session)
        app.router.add_get(f"{api}/catalogue", self.browse)
        app.router.add_get(f"{api}/search", self.find)
        app.router.add_get(f"{api}/products/{{product_id:\\d+}}", self.product)
        app.router.add_get(f"{api}/cart", self.cart)
        app.router.add_post(f"{api}/cart/{{product_id:\\d+}}", self.change_cart)
        app.router.add_post(f"{api}/orders", self.place_order)
        app.router.add_get(f"{api}/orders/{{order_id:\\d+}}", self.order)
        app.router.add_post(f"{api}/orders/{{order_id:\\d+}}/pay", self.pay)

    async def session(self, request: web.Request) -> web.Response:
        """Who the shopper is, the page's words, the shop's delivery options and the cart."""
        shopper = request[SHOPPER]
        async with self.session_factory() as session:
            await self._session_user(session, shopper)
            stored = await session.get(User, shopper.user.id)
            current = await cart.get_cart(session, shopper.user.id)
            covers = await storefront.cover_paths(session, _cart_ids(current))
        name = " ".join(filter(None, [shopper.user.first_name, shopper.user.last_name]))
        return web.json_response(
            {
                "language": shopper.language,
                "texts": texts.page_texts(shopper.language),
                "shop_name": self.settings.shop_name,
                "payment_provider": self.settings.payment_provider,
                "contact": {"name": name, "phone": stored.phone if stored else None},
                "delivery_options": [
                    {
                        "id": option.id,
                        "kind": option.kind.value,
                        "name": option.name,
                        "address": option.address,
                        "hours": option.hours,
                    }
                    for option in self.settings.delivery_options
                ],
                "cart": self._cart_json(current, covers),
            }
        )

    async def browse(self, request: web.Request) -> web.Response:
        """A category (the root without ``category``): its sub-categories and a page of
        everything in it and below."""
        shopper = request[SHOPPER]
        category_id = _int_query(request, "category")
        page = _int_query(request, "page") or 0
        async with self.session_factory() as session:
            try:
                products, covers = await self._pages.get(
                    session, (category_id, page), lambda: self._grid(session, category_id, page)
                )
                view = await self.catalogue.browse(session, category_id, 0, 1)
            except LookupError:
                raise _json_error(
                    web.HTTPNotFound, Text(texts.NO_CATEGORY), shopper.language
                ) from None
        return web.json_response(
            {
                "category": (
                    {
                        "id": view.category.id,
                        "name": view.category.name,
                        "parent_id": view.category.parent_id,
                    }
                    if view.category
                    else None
                ),
                "children": [
                    {"id": child.id, "name": child.name, "count": child.product_count}
                    for child in view.children
                ],
                "products": [self._summary(p, covers) for p in products.items],
                "page": products.page,
                "pages": products.pages,
            }
        )

    async def _grid(
        self, session: AsyncSession, category_id: int | None, page: int
    ) -> tuple[Page[ProductSummary], dict[int, str]]:
        products = await storefront.products_below(session, category_id, page, PAGE_SIZE)
        return products, await storefront.cover_paths(session, [p.id for p in products.items])

    async def find(self, request: web.Request) -> web.Response:
        query = request.query.get("q", "").strip()[:SEARCH_LIMIT]
        page = _int_query(request, "page") or 0
        if not query:
            return web.json_response({"products": [], "close": [], "page": 0, "pages": 1})
        async with self.session_factory() as session:
            result = await self.search.search(session, query, page, PAGE_SIZE)
            shown = [*result.page.items, *result.close]
            covers = await storefront.cover_paths(session, [p.id for p in shown])
        return web.json_response(
            {
                "products": [self._summary(p, covers) for p in result.page.items],
                "close": [self._summary(p, covers) for p in result.close],
                "page": result.page.page,
                "pages": result.page.pages,
            }
        )

    async def product(self, request: web.Request) -> web.Response:
        """A product's page, with its variants when it is sold as variants (sizes, colours:
        each its own price, stock and quantity in the cart; the page offers them as choices
        and puts the chosen one in the cart)."""
        shopper = request[SHOPPER]
        product_id = int(request.match_info["product_id"])
        async with self.session_factory() as session:
            detail = await self.catalogue.product(session, product_id)
            if detail is None or not detail.active:
                raise _json_error(web.HTTPNotFound, Text(texts.NOT_FOUND), shopper.language)
            in_cart = await cart.quantity_in_cart(session, shopper.user.id, product_id)
            held = {}
            if detail.variants:
                current = await cart.get_cart(session, shopper.user.id)
                held = {item.product_id: item.quantity for item in current.items}
        variants = [
            {
                "id": variant.id,
                "sku": variant.sku,
                "label": variant.label,
                "price": variant.price,
                "price_text": format_price(variant.price),
                "stock": variant.stock if variant.active else 0,
                "in_cart": held.get(variant.id, 0),
            }
            for variant in detail.variants
        ]
        return web.json_response(
            {
                "id": detail.id,
                "sku": detail.sku,
                "name": detail.name,
                "description": detail.description,
                "price": detail.price,
                "price_text": format_price(detail.price),
                "stock": detail.stock,
                "category_id": detail.category_id,
                "images": [_media_url(image.path) for image in detail.images],
                "in_cart": in_cart,
                "variants": variants,
            }
        )

    async def cart(self, request: web.Request) -> web.Response:
        shopper = request[SHOPPER]
        async with self.session_factory() as session:
            current = await cart.get_cart(session, shopper.user.id)
            covers = await storefront.cover_paths(session, _cart_ids(current))
        return web.json_response(self._cart_json(current, covers))

    async def change_cart(self, request: web.Request) -> web.Response:
        """``{"action": "add" | "add_one" | "take_one" | "remove"}`` on one product: "add"
        puts one more in (a new line too), the others change a line the cart has, as the
        chat's cart buttons do. A refusal changes nothing and says why, with the cart."""
        shopper = request[SHOPPER]
        body = await _json_body(request, shopper.language)
        action = body.get("action")
        product_id = int(request.match_info["product_id"])
        refusal: cart.CartRefusal | None = None
        async with self.session_factory() as session:
            await self._session_user(session, shopper)
            if action == "add":
                try:
                    await cart.add(session, shopper.user.id, product_id)
                except (OutOfStock, ProductNotFound, ProductUnavailable, CartFull) as exc:
                    refusal = exc
                current = await cart.reconcile(session, shopper.user.id)
            elif action in ("add_one", "take_one", "remove"):
                current, refusal = await cart.press_line(
                    session, shopper.user.id, product_id, LineChange(action)
                )
            else:
                raise _json_error(web.HTTPBadRequest, Text(texts.BAD_REQUEST), shopper.language)
            covers = await storefront.cover_paths(session, _cart_ids(current))
        answer = self._cart_json(current, covers)
        if refusal is not None:
            answer["error"] = _refusal_text(refusal).render(shopper.language)
            return web.json_response(answer, status=409)
        return web.json_response(answer)

    async def place_order(self, request: web.Request) -> web.Response:
        """The checkout form: ``{token, name, phone, delivery, address, comment}``. 201 with
        the order; 400 with ``problems`` per field; 409 when the cart cannot be ordered (it
        changed, ran out, is empty or above what one payment takes), with the cart."""
        shopper = request[SHOPPER]
        language = shopper.language
        body = await _json_body(request, language)
        token = body.get("token")
        if not storefront.valid_token(token):
            raise _json_error(web.HTTPBadRequest, Text(texts.BAD_REQUEST), language)
        try:
            checkout = storefront.read_checkout(body, self.settings)
        except storefront.CheckoutRefused as refused:
            raise _json_error(
                web.HTTPBadRequest,
                Text(texts.FORM_PROBLEMS),
                language,
                problems={field: text.render(language) for field, text in refused.problems.items()},
            ) from None
        user_id = shopper.user.id
        async with self.session_factory() as session:
            await self._session_user(session, shopper)
            current = await cart.reconcile(session, user_id)
            if current.adjustments:  # the cart changed since the shopper saw it
                return self._cart_refusal(
                    current, Text(texts.RAN_OUT, {"name": _changed(current)}), language
                )
            try:
                order = await storefront.place(
                    session,
                    user_id,
                    checkout,
                    token=token,
                    settings=self.settings,
                    max_total=self.provider.max_amount,
                )
            except (OutOfStock, ProductUnavailable) as exc:
                current = await cart.reconcile(session, user_id)
                return self._cart_refusal(
                    current, Text(texts.RAN_OUT, {"name": exc.name}), language
                )
            except EmptyCart:
                return self._cart_refusal(current, Text(texts.EMPTY_CART), language)
            except OrderTooLarge as exc:
                text = Text(
                    texts.TOO_LARGE,
                    {"total": format_price(exc.total), "limit": format_price(exc.limit)},
                )
                return self._cart_refusal(current, text, language)
            order = await orders.get_order(session, order.id)
            answer = self._order_json(order, language)
        return web.json_response(answer, status=201)

    async def order(self, request: web.Request) -> web.Response:
        shopper = request[SHOPPER]
        async with self.session_factory() as session:
            order = await self._own_order(session, request, shopper)
            answer = self._order_json(await orders.get_order(session, order.id), shopper.language)
        return web.json_response(answer)

    async def pay(self, request: web.Request) -> web.Response:
        """Where to pay an order awaiting payment: ``{"kind": "link", "url"}`` (YooKassa's
        page, for ``openLink``) or ``{"kind": "invoice", "url"}`` (a Telegram invoice link,
        for ``openInvoice``). 409 when it cannot be paid (any more, or not online)."""
        shopper = request[SHOPPER]
        language = shopper.language
        async with self.session_factory() as session:
            order = await orders.get_order(
                session, (await self._own_order(session, request, shopper)).id
            )
            if order.status is OrderStatus.AWAITING_CONFIRMATION:
                raise _json_error(web.HTTPConflict, Text(texts.NOTHING_TO_PAY), language)
            if order.status is not OrderStatus.AWAITING_PAYMENT:
                raise _json_error(web.HTTPConflict, Text(texts.NOT_PAYABLE), language)
            if self.settings.payment_provider == "telegram" and self.invoice_links is not None:
                return web.json_response(
                    {"kind": "invoice", "url": await self.invoice_links(order, language)}
                )
            try:
                link = await self.provider.start(session, order)
            except NotPayable:
                raise _json_error(web.HTTPConflict, Text(texts.NOT_PAYABLE), language) from None
            except PaymentError:
                raise _json_error(
                    web.HTTPServiceUnavailable, Text(texts.PAYMENT_DOWN), language
                ) from None
        if link is None:
            raise _json_error(web.HTTPConflict, Text(texts.NOTHING_TO_PAY), language)
        return web.json_response({"kind": "link", "url": link.url})

    async def _own_order(
        self, session: AsyncSession, request: web.Request, shopper: Shopper
    ) -> Order:
        try:
            return await orders.order_of_user(
                session, shopper.user.id, int(request.match_info["order_id"])
            )
        except OrderNotFound:
            raise _json_error(
                web.HTTPNotFound, Text(texts.ORDER_NOT_FOUND), shopper.language
            ) from None

    # ------------------------------------------------------------------ JSON

    def _summary(self, product: ProductSummary, covers: dict[int, str]) -> dict[str, Any]:
        cover = covers.get(product.id)
        return {
            "id": product.id,
            "name": product.name,
            "price": product.price,
            "price_text": format_price(product.price),
            "stock": product.stock,
            "image": _media_url(cover) if cover else None,
        }

    def _cart_json(self, current: Cart, covers: dict[int, str]) -> dict[str, Any]:
        subtotal = current.total
        return {
            "items": [
                {
                    "product_id": item.product_id,
                    "name": item.name,
                    "price": item.unit_price,
                    "price_text": format_price(item.unit_price),
                    "quantity": item.quantity,
                    "line_total_text": format_price(item.line_total),
                    "stock": item.stock,
                    "issue": item.issue.value if item.issue else None,
                    "image": _media_url(covers[item.product_id])
                    if item.product_id in covers
                    else None,
                }
                for item in current.items
            ],
            "count": current.count,
            "total": subtotal,
            "total_text": format_price(subtotal),
            "can_check_out": current.can_check_out,
            "delivery_prices": {
                option.id: {
                    "price": option.price_for(subtotal),
                    "price_text": format_price(option.price_for(subtotal)),
                    "total_text": format_price(subtotal + option.price_for(subtotal)),
                }
                for option in self.settings.delivery_options
            },
        }

    def _cart_refusal(self, current: Cart, text: Text, language: str) -> web.Response:
        answer = self._cart_json(current, {})
        answer["error"] = text.render(language)
        return web.json_response(answer, status=409)

    def _order_json(self, order: Order, language: str) -> dict[str, Any]:
        return {
            "id": order.id,
            "number": order.number,
            "status": order.status.value,
            "status_text": Text(STATUS_WORDS[order.status]).render(language),
            "subtotal_text": format_price(order.subtotal),
            "delivery_price_text": format_price(order.delivery_price),
            "total": order.total,
            "total_text": format_price(order.total),
            "payment_provider": order.payment_provider,
            "expires_at": _iso(order.expires_at),
            "lines": [
                {
                    "name": line.name,
                    "quantity": line.quantity,
                    "line_total_text": format_price(line.line_total),
                }
                for line in order.lines
            ],
        }


SHOPPER = web.RequestKey("shopper", Shopper)


def _cart_ids(current: Cart) -> list[int]:
    return [item.product_id for item in current.items]


def _changed(current: Cart) -> str:
    return ", ".join(adjustment.name for adjustment in current.adjustments)


def _media_url(path: str) -> str:
    """Relative to the page (``/app/``), so the app works under any base path."""
    return f"media/{path}"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _refusal_text(refusal: cart.CartRefusal) -> Text:
    if isinstance(refusal, OutOfStock):
        return Text(texts.OUT_OF_STOCK, {"name": refusal.name})
    if isinstance(refusal, ProductUnavailable):
        return Text(texts.UNAVAILABLE, {"name": refusal.name})
    if isinstance(refusal, CartFull):
        return Text(texts.CART_FULL, {"limit": refusal.limit})
    return Text(texts.NOT_FOUND)


def _int_query(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 12:
        language = request[SHOPPER].language
        raise _json_error(web.HTTPBadRequest, Text(texts.BAD_REQUEST), language, field=name)
    return int(value)


async def _json_body(request: web.Request, language: str) -> dict[str, Any]:
    try:
        body = await request.json(loads=jsonsafe.loads)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _json_error(web.HTTPBadRequest, Text(texts.BAD_REQUEST), language)
    return body


def _json_error(
    kind: type[web.HTTPException],
    text: Text,
    language: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.HTTPException:
    body = {"error": text.render(language), **extra}
    return kind(
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers=headers,
    )


async def _to_slash(_request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("app/")  # relative: the app may sit under a base path


async def _index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})
