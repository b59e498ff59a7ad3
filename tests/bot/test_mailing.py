"""Mailings end to end: the owner composes one in the chat, the job delivers it through the
emulator with Telegram's flood control on — each subscriber once, nobody else, those who
blocked the bot marked unreachable — through a flood of 429s, with Pause / Resume / Cancel,
a scheduled start, counted clicks and the attributed orders in /mailings."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.bot.mailing_sender import SENDERS
from shopbot.bot.mailing_views import ControlAction, MailingControlCb
from shopbot.config import load_settings
from shopbot.db import unit_of_work
from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from shopbot.emulators.telegram_limits import send_album, send_formatted
from shopbot.models import (
    Category,
    ConsentSource,
    Mailing,
    MailingClick,
    MailingRecipient,
    MailingStatus,
    Order,
    OrderStatus,
    RecipientStatus,
    User,
    utcnow,
)
from shopbot.services import catalogue as catalogue_service
from shopbot.services import mailings
from tests.bot.conftest import ADMIN, TOKEN, Catalogue, Shop, ShopFactory, buttons, check_out

POST = "🔥 Распродажа до воскресенья"
BOLD = [{"type": "bold", "offset": 3, "length": 10}]  # "Распродажа", typed in bold
FIRST_SUBSCRIBER = 100_000


async def people(
    shop: Shop, first: int, count: int, *, consent: bool | None, blocked: bool = False
) -> list[EmulatedUser]:
    """``count`` shoppers who once wrote to the bot, with their answer to advertising;
    ``blocked``: they blocked the bot since (the shop does not know yet)."""
    now = utcnow()
    rows = [
        {
            "id": first + number,
            "first_name": f"Покупатель {number}",
            "language": "ru",
            "created_at": now,
            "is_blocked": False,
            "marketing_consent": consent,
            "marketing_consent_at": now if consent is not None else None,
            "marketing_consent_source": ConsentSource.COMMAND if consent is not None else None,
        }
        for number in range(count)
    ]
    async with shop.session_factory() as session, unit_of_work(session):
        await session.execute(insert(User), rows)
    users = []
    for row in rows:
        user = shop.emulator.user(row["id"])
        user.started = True
        if blocked:
            user.block_bot()
        users.append(user)
    return users


async def compose(
    owner: EmulatedUser, post: str = POST, *, buttons_text: str | None = None
) -> None:
    await owner.send_text("/mailing")
    assert "Новая рассылка" in owner.texts()[-1]
    await send_formatted(owner, post, BOLD)
    if buttons_text is None:
        await owner.press("Без кнопок")
    else:
        await owner.send_text(buttons_text)
    await owner.press("Все подписчики")


async def finished(shop: Shop, mailing_id: int, timeout: float = 120.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    async with shop.session_factory() as session:
        while await mailings.status_of(session, mailing_id) is not MailingStatus.DONE:
            assert time.monotonic() < deadline, (
                f"the mailing did not finish in time: {await mailings.figures(session, mailing_id)}"
            )
            await asyncio.sleep(0.2)
            await session.commit()  # a fresh snapshot next time


async def latest_mailing(shop: Shop, timeout: float = 10.0) -> int:  # noqa: ASYNC109
    """The newest campaign, once the owner's confirmation (pressed without waiting) made it."""
    deadline = time.monotonic() + timeout
    async with shop.session_factory() as session:
        while (mailing_id := await session.scalar(select(func.max(Mailing.id)))) is None:
            assert time.monotonic() < deadline, "no mailing was created"
            await asyncio.sleep(0.05)
            await session.commit()
    return mailing_id


def delivered(users: list[EmulatedUser]) -> Counter[int]:
    """How many copies of the post each user holds."""
    return Counter(
        {
            user.id: sum(1 for text in user.texts() if text.startswith("🔥 Распродажа"))
            for user in users
        }
    )


@pytest.fixture
async def owner_shop(shop_factory: ShopFactory) -> Shop:
    shop = await shop_factory(admin_ids=[ADMIN])
    shop.emulator.limits.enforce = True
    await shop.emulator.user(ADMIN, "Хозяйка").send_text("/start")
    return shop


async def test_a_campaign_reaches_every_subscriber_once_and_nobody_else(
    owner_shop: Shop,
) -> None:
    shop = owner_shop
    subscribers = await people(shop, FIRST_SUBSCRIBER, 500, consent=True)
    refused = await people(shop, 200_000, 50, consent=False)
    unasked = await people(shop, 210_000, 50, consent=None)
    blocked = await people(shop, 300_000, 50, consent=True, blocked=True)
    owner = shop.emulator.user(ADMIN)

    await compose(owner)
    preview = owner.messages[-2]
    assert preview["text"] == POST and preview["entities"] == BOLD
    assert buttons(preview) == ["🔕 Отписаться"]
    # The shop does not know of the 50 blocks yet: they are in the audience.
    assert "Получателей: 550" in owner.texts()[-1]
    await owner.press("🚀 Отправить сейчас", wait=False)
    await asyncio.sleep(0.5)
    mailing_id = await latest_mailing(shop)
    await finished(shop, mailing_id)

    assert delivered(subscribers) == Counter({user.id: 1 for user in subscribers})
    assert not any(delivered(refused + unasked + blocked).values())
    assert shop.emulator.limits.refused == 0  # no 429 seen
    assert not [error for error in shop.emulator.errors if error.error_code == 429]
    async with shop.session_factory() as session:
        figures = await mailings.figures(session, mailing_id)
        assert figures is not None
        assert (figures.total, figures.sent, figures.unreachable, figures.failed) == (
            550,
            500,
            50,
            0,
        )
        marked = await session.scalars(select(User.id).where(User.is_blocked.is_(True)))
        assert set(marked) == {user.id for user in blocked}
        rows = (
            await session.execute(
                select(MailingRecipient.user_id, MailingRecipient.message_id).where(
                    MailingRecipient.status == RecipientStatus.SENT
                )
            )
        ).all()
    first = subscribers[0]
    assert dict(rows)[first.id] == first.messages[0]["message_id"]
    report = owner.texts()[-1]
    assert "Рассылка №" in report and "завершена" in report
    assert "Отправлено: 500 из 550" in report and "Недоступны: 50 · ошибки: 0" in report
    # The next campaign leaves out those found unreachable.
    await compose(owner, "Вторая")
    assert "Получателей: 500" in owner.texts()[-1]


async def test_a_flood_of_429s_is_waited_out_and_everyone_still_gets_it_once(
    owner_shop: Shop,
) -> None:
    shop = owner_shop
    subscribers = await people(shop, FIRST_SUBSCRIBER, 120, consent=True)
    owner = shop.emulator.user(ADMIN)
    await compose(owner)
    shop.emulator.limits.flood(4.0, retry_after=2)
    flood_ends = utcnow() + timedelta(seconds=4)
    await owner.press("🚀 Отправить сейчас", wait=False)
    mailing_id = await latest_mailing(shop)
    await finished(shop, mailing_id)

    assert delivered(subscribers) == Counter({user.id: 1 for user in subscribers})
    refused_calls = [e for e in shop.emulator.errors if e.error_code == 429]
    assert refused_calls, "the flood was never met"
    # Every bulk send waited for the pause: a handful of 429s, not one per recipient.
    assert len(refused_calls) <= 6
    async with shop.session_factory() as session:
        figures = await mailings.figures(session, mailing_id)
        first_sent = await session.scalar(select(func.min(MailingRecipient.sent_at)))
    assert figures is not None and (figures.sent, figures.failed) == (120, 0)
    assert first_sent is not None and first_sent >= flood_ends - timedelta(seconds=0.5)


async def test_pause_resume_and_cancel_under_the_progress_message(owner_shop: Shop) -> None:
    shop = owner_shop
    subscribers = await people(shop, FIRST_SUBSCRIBER, 200, consent=True)
    owner = shop.emulator.user(ADMIN)
    await compose(owner)
    await owner.press("🚀 Отправить сейчас", wait=False)
    mailing_id = await latest_mailing(shop)
    deadline = time.monotonic() + 20
    while not any("⏸ Пауза" in buttons(message) for message in owner.messages):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    progress = next(m for m in owner.messages if "⏸ Пауза" in buttons(m))
    await owner.press("⏸ Пауза", message=progress, wait=False)
    await asyncio.sleep(3.0)  # the senders notice, the last sends in flight land
    sent_when_paused = sum(delivered(subscribers).values())
    await asyncio.sleep(2.5)
    assert sum(delivered(subscribers).values()) == sent_when_paused < 200
    progress = owner.history[progress["message_id"]]
    assert "на паузе" in progress["text"] and "▶️ Продолжить" in buttons(progress)

    await owner.press("▶️ Продолжить", message=progress, wait=False)
    await asyncio.sleep(4.0)  # the next pass (within 2 s) goes on
    assert sum(delivered(subscribers).values()) > sent_when_paused
    progress = owner.history[progress["message_id"]]
    await owner.press("✖️ Отменить рассылку", message=progress, wait=False)
    await asyncio.sleep(3.0)
    cancelled_at = sum(delivered(subscribers).values())
    await asyncio.sleep(2.5)
    assert sum(delivered(subscribers).values()) == cancelled_at < 200
    assert max(delivered(subscribers).values()) == 1
    async with shop.session_factory() as session:
        assert await mailings.status_of(session, mailing_id) is MailingStatus.CANCELLED
    progress = owner.history[progress["message_id"]]
    assert "отменена" in progress["text"] and "Не отправлено:" in progress["text"]
    assert buttons(progress) == []
    # A stale Pause pressed later changes nothing and says so.
    stale_pause = MailingControlCb(action=ControlAction.PAUSE, mailing_id=mailing_id).pack()
    answer = await owner.press_data(stale_pause, message=progress)
    assert answer is not None and answer.text == "Эта рассылка уже завершена или изменилась."


async def test_buttons_carry_the_campaign_and_its_clicks_and_orders_are_counted(
    owner_shop: Shop, catalogue: Catalogue
) -> None:
    shop = owner_shop
    await people(shop, FIRST_SUBSCRIBER, 3, consent=True)
    owner = shop.emulator.user(ADMIN)
    await owner.send_text("/mailing")
    await owner.send_text(POST)
    await owner.send_text("Футболка | sku:NOPE")
    assert "в продаже нет товара с артикулом NOPE" in owner.texts()[-1]
    await owner.send_text(
        "Футболка | sku:TS-01\nВсе кружки | cat:Кружки\nСкидка | promo:SPRING\n"
        "Наш сайт | https://example.com/sale"
    )
    await owner.press("Все подписчики")
    preview = owner.messages[-2]
    assert buttons(preview) == ["Футболка", "Все кружки", "Скидка", "Наш сайт", "🔕 Отписаться"]
    await owner.press("🚀 Отправить сейчас", wait=False)
    mailing_id = await latest_mailing(shop)
    await finished(shop, mailing_id)

    reader = shop.emulator.user(FIRST_SUBSCRIBER)
    post = reader.messages[0]
    urls = [button.get("url") for row in post["reply_markup"]["inline_keyboard"] for button in row]
    async with shop.session_factory() as session:
        shirt = await catalogue_service.get_product_by_sku(session, "TS-01")
        mugs_id = await session.scalar(select(Category.id).where(Category.name == "Кружки"))
    assert shirt is not None
    assert urls[0] == f"https://t.me/shopbot_test_bot?start=m{mailing_id}_i_{shirt.id}"
    assert urls[1] == f"https://t.me/shopbot_test_bot?start=m{mailing_id}_c_{mugs_id}"
    assert urls[2] == f"https://t.me/shopbot_test_bot?start=m{mailing_id}_promo_SPRING"
    assert urls[3] == "https://example.com/sale"
    for url in urls[:2]:
        await reader.send_text(f"/start {url.split('start=')[1]}")
    assert "Кружки" in reader.texts()[-1]
    await reader.send_text(f"/start {urls[2].split('start=')[1]}")  # kept until checkout
    assert "SPRING" in reader.texts()[-1]
    # "Unsubscribe" under the campaign's post takes consent back in one tap.
    await reader.press("🔕 Отписаться", message=post)
    assert "больше присылать не будем" in reader.texts()[-1]
    async with shop.session_factory() as session:
        consent = await session.scalar(
            select(User.marketing_consent).where(User.id == FIRST_SUBSCRIBER)
        )
    assert consent is False
    # An order placed after the message counts for the campaign.
    await check_out(shop, FIRST_SUBSCRIBER, "TS-02")
    async with shop.session_factory() as session, unit_of_work(session):
        await session.execute(
            update(Order).where(Order.user_id == FIRST_SUBSCRIBER).values(status=OrderStatus.PAID)
        )
    await owner.send_text("/mailings")
    listing = owner.texts()[-1]
    assert f"№{mailing_id}" in listing
    assert "доставлено 3 из 3" in listing
    assert "переходы 3 (покупателей: 1), заказы 1, выручка 1 299 ₽" in listing.replace("\xa0", " ")
    async with shop.session_factory() as session:
        targets = list(await session.scalars(select(MailingClick.target)))
    assert targets == [f"i_{shirt.id}", f"c_{mugs_id}", "promo_SPRING"]


async def test_an_album_is_copied_as_one_with_its_buttons_below(owner_shop: Shop) -> None:
    shop = owner_shop
    (reader,) = await people(shop, FIRST_SUBSCRIBER, 1, consent=True)
    owner = shop.emulator.user(ADMIN)
    await owner.send_text("/mailing")
    await send_album(owner, ["Новинки", "ещё"])
    await owner.press("Без кнопок")
    await owner.press("Все подписчики")
    await owner.press("🚀 Отправить сейчас", wait=False)
    await finished(shop, await latest_mailing(shop))
    first, second, below = reader.messages
    assert first["caption"] == "Новинки" and second["caption"] == "ещё"
    assert first["media_group_id"] == second["media_group_id"]
    assert below["text"] == "👆" and buttons(below) == ["🔕 Отписаться"]
    assert shop.emulator.count("copyMessages") == 2  # the preview and the one shopper


async def test_a_scheduled_campaign_waits_for_its_time_on_the_shop_clock(
    owner_shop: Shop,
) -> None:
    shop = owner_shop
    (reader,) = await people(shop, FIRST_SUBSCRIBER, 1, consent=True)
    owner = shop.emulator.user(ADMIN)
    await compose(owner)
    await owner.press("🕒 Запланировать")
    assert "время магазина, Europe/Moscow" in owner.texts()[-1]
    await owner.send_text("завтра")
    assert owner.texts()[-1] == "Пришлите дату и время в виде 31.12.2026 10:00."
    await owner.send_text("01.01.2020 10:00")
    assert owner.texts()[-1] == "Это время уже прошло. Пришлите время в будущем."
    later = (utcnow() + timedelta(days=1)).astimezone(shop.settings.shop_timezone)
    await owner.send_text(later.strftime("%d.%m.%Y %H:%M"))
    assert f"запланирована на {later:%d.%m.%Y %H:%M}" in owner.texts()[-1]
    mailing_id = await latest_mailing(shop)
    await asyncio.sleep(2.5)  # a job pass or more
    assert reader.messages == []
    async with shop.session_factory() as session, unit_of_work(session):
        await session.execute(
            update(Mailing).where(Mailing.id == mailing_id).values(scheduled_at=utcnow())
        )
    await finished(shop, mailing_id)
    assert reader.texts()[0] == "🔥 Распродажа до воскресенья"


async def test_nobody_but_an_admin_can_mail(owner_shop: Shop) -> None:
    shop = owner_shop
    shopper = shop.emulator.user(4242)
    await shopper.send_text("/mailing")
    assert "Новая рассылка" not in shopper.texts()[-1]
    await shopper.send_text("/mailings")
    assert "Рассылки" not in shopper.texts()[-1]


async def test_a_process_killed_mid_campaign_and_restarted_sends_nobody_anything_twice(
    emulator: TelegramEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``shopbot run`` is killed (SIGKILL) right when Telegram has accepted a copy and
    before the process heard back: the worst moment. The restarted process goes on where
    the first stopped; the copy in flight is counted failed ("interrupted"), not sent again
    — it did arrive, so everyone has the post exactly once."""
    emulator.limits.enforce = True
    shop = Shop(emulator, load_settings(_env_file=None), session_factory)
    subscribers = await people(shop, FIRST_SUBSCRIBER, 150, consent=True)
    others = await people(shop, 200_000, 30, consent=False)
    owner = emulator.user(ADMIN, "Хозяйка")
    owner.started = True
    draft = await send_formatted(owner, POST, BOLD, wait=False)
    async with session_factory() as session:
        mailing_id = await mailings.create(
            session,
            owner_id=ADMIN,
            source_chat_id=ADMIN,
            message_ids=[draft["message_id"]],
            buttons=[],
            audience=mailings.Audience(mailings.AudienceKind.ALL),
        )
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        "MEDIA_DIR": str(tmp_path / "media"),
        "WEB_PORT": "0",
        "ADMIN_IDS": str(ADMIN),
    }
    running: list[asyncio.subprocess.Process] = []
    killed_at: list[int] = []
    copy = emulator._methods["copyMessage"]

    def copy_then_die(p: Any) -> dict[str, Any]:
        result = copy(p)
        shoppers_copies = emulator.count("copyMessage")
        if not killed_at and shoppers_copies >= 60:
            killed_at.append(int(p.values["chat_id"]))
            os.kill(running[0].pid, signal.SIGKILL)  # before Telegram's answer leaves
        return result

    monkeypatch.setitem(emulator._methods, "copyMessage", copy_then_die)
    try:
        running.append(await _run_shop(tmp_path, env, "first.log"))
        assert await asyncio.wait_for(running[0].wait(), timeout=60) == -signal.SIGKILL
        assert killed_at, "the first process died before the copy"
        running.append(await _run_shop(tmp_path, env, "second.log"))
        await finished(shop, mailing_id)
    finally:
        for process in running:
            if process.returncode is None:
                process.kill()
                await process.wait()

    got = delivered(subscribers)
    assert max(got.values()) == 1, "somebody got the post twice"
    assert not any(delivered(others).values())
    async with session_factory() as session:
        failed_rows = dict(
            (
                await session.execute(
                    select(MailingRecipient.user_id, MailingRecipient.error).where(
                        MailingRecipient.status == RecipientStatus.FAILED
                    )
                )
            ).all()
        )
    # The copy the kill cut short arrived, and was not sent again.
    assert killed_at[0] in failed_rows and got[killed_at[0]] == 1
    assert set(failed_rows.values()) == {mailings.INTERRUPTED}
    assert len(failed_rows) <= SENDERS  # at most the sends that were in flight
    assert {user.id for user in subscribers if got[user.id] == 0} <= set(failed_rows)
    log = (tmp_path / "second.log").read_text()
    assert "interrupted by a stop" in log and "Traceback" not in log


async def _run_shop(cwd: Path, env: dict[str, str], log_name: str) -> asyncio.subprocess.Process:
    """``shopbot run`` (polling), its output in a file, once it has started."""
    log = cwd / log_name
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shopbot", "run", cwd=cwd, env=env, stdout=output, stderr=output
        )
    deadline = time.monotonic() + 60
    while "started: Telegram at" not in log.read_text():
        assert process.returncode is None and time.monotonic() < deadline, log.read_text()
        await asyncio.sleep(0.1)
    return process


async def test_cancel_leaves_the_draft_at_any_step(owner_shop: Shop) -> None:
    shop = owner_shop
    await people(shop, FIRST_SUBSCRIBER, 1, consent=True)
    owner = shop.emulator.user(ADMIN)
    await owner.send_text("/mailing")
    await owner.send_text(POST)
    await owner.send_text("/cancel")
    assert owner.texts()[-1] == "Рассылка отменена. Ничего не отправлено."
    await owner.send_text("Привет")  # no longer a post: the shop's usual answer
    assert "Кнопки под постом" not in owner.texts()[-1]
    async with shop.session_factory() as session:
        assert await session.scalar(select(func.count(Mailing.id))) == 0
