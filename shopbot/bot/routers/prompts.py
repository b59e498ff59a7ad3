"""The rule for prompts ("What are you looking for?", "Send the CSV file", "Write the reason"):
a command or a main-menu button leaves them, so the next words typed are never taken as the
answer to a question the shopper walked away from. Checkout is the one conversation that
survives a detour (its steps say "/cancel leaves it"), so its states are kept."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import StatesGroup
from aiogram.types import Message, TelegramObject

from shopbot.bot.middlewares import Handler
from shopbot.bot.routers.filters import is_command_or_menu


class LeavePrompts(BaseMiddleware):
    """Before a command (but /cancel) or a menu button is handled, the pending prompt's
    state is dropped (its data stays: a search's pages still turn), unless it belongs to
    ``kept``."""

    def __init__(self, *kept: type[StatesGroup]) -> None:
        self.kept = kept

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        if (
            isinstance(event, Message)
            and state is not None
            and is_command_or_menu(event)
            and not _is_cancel(event)
        ):
            current = data.get("raw_state")  # read by aiogram's FSM middleware
            if current is not None and not any(current in group for group in self.kept):
                await state.set_state(None)
                data["raw_state"] = None  # what the state filters below go by
        return await handler(event, data)


def _is_cancel(message: Message) -> bool:
    """/cancel is a prompt's own way out: its handler sees the prompt and says it left."""
    command = (message.text or "").split(maxsplit=1)[0]
    return command.split("@", 1)[0].lower() == "/cancel"
