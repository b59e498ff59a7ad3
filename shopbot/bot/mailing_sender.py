"""The mailing job's pass: settle what a dead pass left in flight, start the campaigns that
are due, and send every campaign that is sending until it is done, paused or cancelled.

Passes run once across replicas (``db.exclusive`` in the background jobs). Within a pass a
few senders work on one campaign at a time, each send taking its slot from the shared
:mod:`~shopbot.services.send_rate` first, so the pace is ``MAILING_RATE`` and one message a
second per chat however many senders or replicas there are; more than one in flight only
hides Telegram's round trip. A 429 pauses every bulk sender for its ``retry_after``;
5xx and network errors are retried with a backoff, then failed; a 403 or a chat that is
gone marks the shopper unreachable (and blocked, so no later campaign picks them). Bulk
requests skip the session's own 429 retry (``middlewares.handling_flood_control``): the
pass answers a 429 itself, for every sender at once.

The owner's progress message is edited in place every :data:`PROGRESS_EVERY` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardMarkup
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot import metrics
from shopbot.bot.clock import shop_clock
from shopbot.bot.i18n import PoI18n
from shopbot.bot.mailing_views import Pace, campaign_markup, progress_markup, progress_text
from shopbot.bot.middlewares import flood_handled_by_caller, handling_flood_control
from shopbot.config import Settings
from shopbot.models import Mailing, MailingStatus, User
from shopbot.services import mailings
from shopbot.services.mailings import Button
from shopbot.services.send_rate import SendRate
from shopbot.services.users import mark_blocked

log = logging.getLogger(__name__)

SENDERS = 4  # sends in flight at once, at most
BATCH = 100  # recipients read at a time
PROGRESS_EVERY = 2.0  # seconds between edits of the progress message
PACE_WINDOW = 10.0  # seconds of sends the rate shown is measured over
ALBUM_BUTTONS = "👆"  # the message carrying an album's buttons (an album cannot have any)
_GONE = ("chat not found", "user is deactivated", "bot was blocked")


class MailingSender:
    def __init__(
        self,
        bot: Bot,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        i18n: PoI18n,
        rate: SendRate,
    ) -> None:
        self._bot = bot
        self._settings = settings
        self._session_factory = session_factory
        self._i18n = i18n
        self._rate = rate

    async def run_pass(self) -> None:
        async with self._session_factory() as session:
            interrupted = await mailings.settle_interrupted(session)
            if interrupted:
                log.warning("%s mailing send(s) interrupted by a stop: not sent again", interrupted)
            for mailing_id in await mailings.start_due(session):
                log.info("mailing %s started", mailing_id)
            for mailing in await mailings.sending(session):
                await self._send_campaign(session, mailing)

    async def _send_campaign(self, session: AsyncSession, mailing: Mailing) -> None:
        me = await self._bot.me()
        buttons = [Button.from_json(data) for data in mailing.buttons]
        markups: dict[str, InlineKeyboardMarkup] = {}
        for language in ("ru", "en"):
            with self._i18n.context(), self._i18n.use_locale(language):
                markups[language] = campaign_markup(mailing.id, buttons, me.username or "")
        pace = _PaceMeter()
        await self._show_progress(session, mailing, None)
        halted = asyncio.Event()  # paused or cancelled meanwhile: stop taking recipients
        ticker = asyncio.create_task(self._tick(mailing, pace, halted))
        try:
            while not halted.is_set():
                await session.commit()  # end the read snapshot: see what the senders wrote
                if await mailings.status_of(session, mailing.id) is not MailingStatus.SENDING:
                    break
                batch = await mailings.next_pending(session, mailing.id, BATCH)
                if not batch:
                    if not await mailings.has_pending(session, mailing.id):
                        await mailings.change_status(session, mailing.id, MailingStatus.DONE, "job")
                    break  # the rest waits for its retry: a later pass
                languages = dict(
                    (
                        await session.execute(
                            select(User.id, User.language).where(
                                User.id.in_([user_id for _recipient, user_id in batch])
                            )
                        )
                    ).all()
                )
                queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
                for item in batch:
                    queue.put_nowait(item)
                senders = min(SENDERS, len(batch))
                await asyncio.gather(
                    *(
                        self._work(mailing, queue, languages, markups, pace, halted)
                        for _ in range(senders)
                    )
                )
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        await self._show_progress(session, mailing, pace)

    async def _work(
        self,
        mailing: Mailing,
        queue: asyncio.Queue[tuple[int, int]],
        languages: dict[int, str],
        markups: dict[str, InlineKeyboardMarkup],
        pace: _PaceMeter,
        halted: asyncio.Event,
    ) -> None:
        """One sender: recipients from the queue until it is empty or the campaign halts."""
        async with self._session_factory() as session:
            while not queue.empty() and not halted.is_set():
                recipient_id, user_id = queue.get_nowait()
                markup = markups.get(languages.get(user_id, "ru"), markups["ru"])
                if await self._send_one(session, mailing, recipient_id, user_id, markup):
                    pace.count()

    async def _tick(self, mailing: Mailing, pace: _PaceMeter, halted: asyncio.Event) -> None:
        """Every :data:`PROGRESS_EVERY` seconds: the progress message, and whether the owner
        paused or cancelled the campaign."""
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            async with self._session_factory() as session:
                if await mailings.status_of(session, mailing.id) is not MailingStatus.SENDING:
                    halted.set()
                    return
                await self._show_progress(session, mailing, pace)

    async def _send_one(
        self,
        session: AsyncSession,
        mailing: Mailing,
        recipient_id: int,
        user_id: int,
        markup: InlineKeyboardMarkup,
    ) -> bool:
        """One recipient: wait for the slot, claim, send, record. True if delivered."""
        album = len(mailing.source_message_ids) > 1
        messages = len(mailing.source_message_ids) + (1 if album else 0)
        while True:
            wait = await self._rate.reserve(user_id, messages)
            if wait > 0:
                await asyncio.sleep(wait)
            if await self._rate.paused_for() <= 0:
                break
        if not await mailings.claim(session, recipient_id):
            return False  # paused or cancelled meanwhile, or taken
        try:
            with handling_flood_control():
                message_id = await self._deliver(mailing, user_id, markup, album=album)
        except TelegramRetryAfter as exc:
            metrics.MAILING_FLOOD_WAITS.inc()
            log.warning("mailing %s: flood control, all paused %s s", mailing.id, exc.retry_after)
            await self._rate.pause(exc.retry_after)
            await mailings.retry_later(
                session, recipient_id, exc.message, after=exc.retry_after, counts=False
            )
            outcome = "retried"
        except (TelegramForbiddenError, TelegramNotFound) as exc:
            outcome = await self._unreachable(session, recipient_id, user_id, exc)
        except TelegramBadRequest as exc:
            if any(words in exc.message for words in _GONE):
                outcome = await self._unreachable(session, recipient_id, user_id, exc)
            else:
                await mailings.failed(session, recipient_id, exc.message)
                outcome = "failed"
        except (TelegramServerError, TelegramNetworkError) as exc:
            again = await mailings.retry_later(
                session, recipient_id, str(exc), after=None, counts=True
            )
            outcome = "retried" if again else "failed"
        except TelegramAPIError as exc:
            await mailings.failed(session, recipient_id, exc.message)
            outcome = "failed"
        else:
            await mailings.sent(session, recipient_id, message_id)
            outcome = "sent"
        metrics.MAILING_DELIVERIES.labels(outcome).inc()
        return outcome == "sent"

    async def _unreachable(
        self, session: AsyncSession, recipient_id: int, user_id: int, exc: TelegramAPIError
    ) -> str:
        await mailings.unreachable(session, recipient_id, exc.message)
        await mark_blocked(session, user_id)
        return "unreachable"

    async def _deliver(
        self, mailing: Mailing, user_id: int, markup: InlineKeyboardMarkup, *, album: bool
    ) -> int:
        """The owner's post copied to the shopper, with the buttons: an album in one call,
        its buttons in a message of their own. Returns the (first) message's id."""
        if album:
            copied = await self._bot.copy_messages(
                user_id, mailing.source_chat_id, mailing.source_message_ids
            )
            await self._bot.send_message(user_id, ALBUM_BUTTONS, reply_markup=markup)
            return copied[0].message_id
        copied_one = await self._bot.copy_message(
            user_id, mailing.source_chat_id, mailing.source_message_ids[0], reply_markup=markup
        )
        return copied_one.message_id

    async def _show_progress(
        self, session: AsyncSession, mailing: Mailing, pace: _PaceMeter | None
    ) -> None:
        """Edit the owner's progress message (send it the first time). Failures are logged:
        the campaign goes on without its display."""
        await session.commit()  # figures as the senders left them, not an old snapshot
        figures = await mailings.figures(session, mailing.id)
        if figures is None:
            return
        language = await session.scalar(select(User.language).where(User.id == mailing.created_by))
        with (
            self._i18n.context(),
            self._i18n.use_locale(language or self._settings.default_language),
            shop_clock(self._settings.shop_timezone),
        ):
            text = progress_text(figures, pace.now(figures.pending) if pace else None)
            markup = progress_markup(figures)
        chat_id, message_id = mailing.progress_chat_id, mailing.progress_message_id
        try:
            if chat_id is not None and message_id is not None:
                await self._bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
                return
            sent = await self._bot.send_message(mailing.created_by, text, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                log.warning("mailing %s: progress not shown: %s", mailing.id, exc.message)
            return
        except TelegramAPIError as exc:
            log.warning("mailing %s: progress not shown: %s", mailing.id, exc)
            return
        await mailings.set_progress_message(session, mailing.id, sent.chat.id, sent.message_id)
        mailing.progress_chat_id, mailing.progress_message_id = sent.chat.id, sent.message_id


# What Telegram counts as messages sent (edits and answers to buttons it limits apart).
SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendVideo",
        "sendAnimation",
        "sendDocument",
        "sendAudio",
        "sendVoice",
        "sendMediaGroup",
        "sendInvoice",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
    }
)


class ConversationPace(BaseRequestMiddleware):
    """The bot's other messages (answers to shoppers, notifications) take their slots in
    the shared pace as they go, never waiting for one: the mailing, which does wait, gets
    what they leave, so the bot as a whole stays at ``MAILING_RATE`` (below Telegram's
    ~30/s) and a busy shop slows the mailing, never the shoppers."""

    def __init__(self, rate: SendRate) -> None:
        self._rate = rate
        self._noting: set[asyncio.Task[None]] = set()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = getattr(method, "chat_id", None)
        if (
            isinstance(chat_id, int)
            and method.__api_method__ in SENDING_METHODS
            and not flood_handled_by_caller()
        ):
            # Not awaited: an answer never waits on Redis, nor fails with it.
            task = asyncio.create_task(self._note(chat_id))
            self._noting.add(task)
            task.add_done_callback(self._noting.discard)
        return await make_request(bot, method)

    async def _note(self, chat_id: int) -> None:
        try:
            await self._rate.note(chat_id)
        except (RedisError, OSError) as exc:
            log.debug("the pace did not hear of a message to %s: %s", chat_id, exc)


class _PaceMeter:
    """Deliveries over the last :data:`PACE_WINDOW` seconds."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self._started = time.monotonic()

    def count(self) -> None:
        self._times.append(time.monotonic())

    def now(self, pending: int) -> Pace:
        now = time.monotonic()
        while self._times and self._times[0] < now - PACE_WINDOW:
            self._times.popleft()
        span = min(PACE_WINDOW, now - self._started)
        rate = len(self._times) / span if span > 0 else 0.0
        return Pace(rate=rate, left=pending / rate if rate > 0 else None)
