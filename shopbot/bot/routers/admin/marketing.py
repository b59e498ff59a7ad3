"""/subscribers: the shop's audience for advertising — who said yes, who did not, how."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.routers.admin.texts import subscribers_text
from shopbot.config import Settings
from shopbot.models import utcnow
from shopbot.services.marketing import latest_changes, subscriber_figures
from shopbot.services.stats import period_start

DAYS = 30  # the changes counted, as /stats counts its longest period
LATEST = 10  # the latest answers listed


async def subscribers_command(message: Message, session: AsyncSession, settings: Settings) -> None:
    since = period_start(DAYS, utcnow(), settings.shop_timezone)
    figures = await subscriber_figures(session, since)
    latest = await latest_changes(session, LATEST)
    await message.answer(subscribers_text(figures, DAYS, latest))


def register(router: Router) -> None:
    router.message.register(subscribers_command, Command("subscribers"))
