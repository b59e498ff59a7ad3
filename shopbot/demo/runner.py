"""``shopbot demo``: the whole shop in one process, driven from a browser chat.

On 127.0.0.1 only: the Bot API emulator, the real shop (:func:`shopbot.app.start_shop`:
dispatcher, YooKassa provider, web server with the payment webhook, background jobs) polling
the emulator as it would poll Telegram, the fake YooKassa with its checkout page, and the
chat page. The demo keeps its data in its own folder (``shopbot-demo/`` by default: the
SQLite database ``demo.db`` and the processed images in ``media/``); the database is created
afresh on every start and the sample catalogue imported into it, so each demo starts from
the same shop, unless ``--keep`` asks to go on with the last run's shop. Settings from the
environment or ``.env`` apply except those the demo must own (token, Bot API and YooKassa
addresses, database, admins, Redis, web address).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select

from shopbot.app import ShopRuntime, settle_heap, start_shop
from shopbot.config import Settings, load_settings
from shopbot.demo.texts import STAFF_GROUP, translated
from shopbot.demo.web import DemoPeople, create_demo_app
from shopbot.demo.webapp import add_webapp_routes
from shopbot.emulators.telegram import TelegramEmulator
from shopbot.emulators.telegram_forum import forum
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.importer import ImportOptions, import_file
from shopbot.models import Order, Product
from shopbot.services.faq import import_faq
from shopbot.web.yookassa import WEBHOOK_PATH

HOST = "127.0.0.1"
SHOPPER_ID = 5000001
ADMIN_ID = 5000002
# The staff's supergroup with topics, where the admin answers the shoppers who ask for a person.
STAFF_CHAT_ID = -1005000003
BOT_ID = 7000000001
BOT_USERNAME = "shopbot_demo_bot"
YOOKASSA_SHOP_ID = "100500"
DATABASE_FILE = "demo.db"
# The demo shop's ways to get an order: a pickup point, and a courier that costs something
# below a threshold (the README's DELIVERY_OPTIONS example).
DELIVERY_OPTIONS = [
    {
        "kind": "pickup",
        "name": "Самовывоз с Покровки",
        "address": "Москва, ул. Покровка, 12",
        "hours": "ежедневно 10:00–21:00",
    },
    {"kind": "courier", "price": "350", "free_from": "3000"},
]
# The repository's sample catalogue, for runs outside the repository root.
_REPOSITORY_CATALOGUE = Path(__file__).resolve().parents[2] / "catalog" / "products.csv"


class DemoError(Exception):
    """The demo cannot start; the message says why, in one line."""


@dataclass(frozen=True)
class DemoOptions:
    port: int = 8080
    data_dir: Path = Path("shopbot-demo")
    catalogue: Path | None = None
    language: str = "ru"
    keep: bool = False


def find_catalogue(given: Path | None) -> Path:
    """The CSV to import: the one given, ``catalog/products.csv`` here, or the repository's."""
    candidates = [given] if given is not None else [Path("catalog/products.csv")]
    if given is None:
        candidates.append(_REPOSITORY_CATALOGUE)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DemoError(f"no catalogue CSV at {candidates[0]} (pass --catalog PATH)")


def demo_settings(
    options: DemoOptions,
    telegram: TelegramEmulator,
    yookassa: YooKassaEmulator,
    page_url: str,
    web_port: int,
) -> Settings:
    """The shop's settings in the demo; its web server (with the Mini App, ``WEBAPP_URL``)
    on ``web_port``."""
    data_dir = options.data_dir.resolve()
    return load_settings(
        bot_token=telegram.token,
        telegram_api_url=telegram.base_url,
        database_url=f"sqlite+aiosqlite:///{data_dir / DATABASE_FILE}",
        media_dir=data_dir / "media",
        admin_ids=[ADMIN_ID],
        admin_chat_id=None,
        support_chat_id=STAFF_CHAT_ID,
        redis_url=None,
        payment_provider="yookassa",
        delivery_options=DELIVERY_OPTIONS,
        yookassa_shop_id=yookassa.shop_id,
        yookassa_secret_key=yookassa.secret_key,
        yookassa_api_url=yookassa.api_url,
        yookassa_return_url=page_url,
        yookassa_trusted_networks=[f"{HOST}/32"],
        trusted_proxies=[],
        web_host=HOST,
        web_port=web_port,
        webapp_url=f"http://{HOST}:{web_port}",
    )


def free_port() -> int:
    """A port free now on the demo's address (the Mini App's URL names it before the shop's
    web server listens on it)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _fresh_database(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-journal", "-wal", "-shm"):
        (data_dir / (DATABASE_FILE + suffix)).unlink(missing_ok=True)


async def _kept_shop(runtime: ShopRuntime) -> tuple[int, int]:
    """Products (variants not counted apart) and orders the last run left (``--keep``)."""
    async with runtime.session_factory() as session:
        products = await session.scalar(
            select(func.count()).select_from(Product).where(Product.parent_id.is_(None))
        )
        orders = await session.scalar(select(func.count()).select_from(Order))
    return products or 0, orders or 0


async def _import_catalogue(runtime: ShopRuntime, catalogue: Path) -> str:
    report = await import_file(
        runtime.session_factory,
        catalogue,
        ImportOptions(media_dir=runtime.settings.media_dir, actor="demo"),
    )
    if not report.ok:
        first = report.errors[0]
        raise DemoError(f"the catalogue {catalogue} did not import: {first.message}")
    faq = catalogue.with_name("faq.csv")
    if not faq.is_file():  # a catalogue of its own, without a FAQ beside it
        return f"{report.created} products from {catalogue}"
    faq_report = await import_faq(runtime.session_factory, faq.read_bytes(), dry_run=False)
    if not faq_report.ok:
        raise DemoError(f"the FAQ {faq} did not import: {faq_report.errors[0].message}")
    return f"{report.created} products from {catalogue}, {faq_report.added} FAQ entries"


def _banner(page_url: str, shop: str, data_dir: Path) -> str:
    return f"""
shopbot demo is running: open {page_url}
  shop: {shop}; data in {data_dir}/
  try:  the catalogue → a product → add it to the cart → check out (share your contact)
        → confirm → pay on the test payment page that opens → the order is paid;
        or the same in the Mini App: «🛍 Магазин» beside the message box;
        switch to «Админ» at the top: /admin lists the admin commands, e.g.
        /stock TSH-001 5, /export, or 📎 a CSV with the caption /import;
        as the shopper, /support (or ❓ Помощь → a question → Написать менеджеру) asks
        for a person: «Персонал» at the top is the staff group, where the shopper's topic
        appears; answer there, then /close it (the shopper is asked to rate the help).
  Ctrl-C stops it.
""".rstrip()


async def run_demo(options: DemoOptions) -> None:
    """Run until Ctrl-C / SIGTERM, then stop everything; :class:`DemoError` if it can't start."""
    catalogue = find_catalogue(options.catalogue)
    telegram = TelegramEmulator(
        f"{BOT_ID}:demo-{secrets.token_urlsafe(24)}",
        bot_id=BOT_ID,
        bot_username=BOT_USERNAME,
        bot_first_name="Shop",
        test_environment=True,  # Telegram's test server takes Mini Apps over plain http
    )
    yookassa = YooKassaEmulator(YOOKASSA_SHOP_ID, "test_" + secrets.token_urlsafe(16))
    people = DemoPeople(
        shopper=telegram.user(SHOPPER_ID, "Анна", language_code=options.language),
        admin=telegram.user(ADMIN_ID, "Админ", language_code=options.language),
        staff=forum(telegram, STAFF_CHAT_ID, translated(STAFF_GROUP, options.language)),
    )
    people.staff.join(people.admin, "creator")
    page_app = create_demo_app(telegram, people, options.language)
    add_webapp_routes(page_app)  # the page is the Mini App's web view too
    page = web.AppRunner(page_app, access_log=None, shutdown_timeout=1)
    runtime: ShopRuntime | None = None
    try:
        await telegram.start(HOST)
        await yookassa.start(HOST)
        await page.setup()
        try:
            await web.TCPSite(page, HOST, options.port).start()
        except OSError as exc:
            raise DemoError(
                f"port {options.port} is not free ({exc.strerror}); choose one with --port N"
            ) from None
        page_url = f"http://{HOST}:{page.addresses[0][1]}"
        if not options.keep:  # only now: a demo already running keeps its port
            _fresh_database(options.data_dir)
        settings = demo_settings(options, telegram, yookassa, page_url, free_port())
        runtime = await start_shop(settings)
        yookassa.webhook_url = runtime.web_url + WEBHOOK_PATH
        products, orders = await _kept_shop(runtime) if options.keep else (0, 0)
        if products:
            shop = (
                f"kept from the last run ({products} products, {orders} orders; "
                "without --keep the next start begins afresh)"
            )
        else:
            imported = await _import_catalogue(runtime, catalogue)
            shop = f"{imported} (recreated on every start; --keep keeps it)"
        settle_heap()
        polling = asyncio.create_task(
            runtime.dispatcher.start_polling(
                runtime.bot, handle_as_tasks=True, handle_signals=True, close_bot_session=False
            )
        )
        # Both people open the bot, so the page starts with the greeting and the menu.
        await people.shopper.send_text("/start", wait=False)
        await people.admin.send_text("/start", wait=False)
        print(_banner(page_url, shop, options.data_dir.resolve()), flush=True)
        await polling
    finally:
        if runtime is not None:
            await runtime.close()
        await page.cleanup()
        await yookassa.stop()
        await telegram.stop()
