"""/staff: the employees who answer shoppers, and the subjects each is responsible for.

``/staff`` lists them; ``/staff add WHO [SUBJECTS]`` adds one (or changes their subjects),
``/staff remove WHO`` removes one. WHO is a numeric id or the @username of someone who has
written to the bot; ``/staff add`` alone asks for a message forwarded from the person.
SUBJECTS are any of ``order delivery product return other`` (or ``заказ доставка товар
возврат другое``); none: no subject in particular. A conversation is routed to the staff of
its subject; with nobody assigned, every admin is mentioned."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message, MessageOriginUser
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.render import h
from shopbot.bot.routers.filters import Magic
from shopbot.bot.support_texts import subject_label
from shopbot.models import SupportStaff, SupportSubject, User
from shopbot.services import conversations

SUBJECT_WORDS = {
    "order": SupportSubject.ORDER,
    "заказ": SupportSubject.ORDER,
    "delivery": SupportSubject.DELIVERY,
    "payment": SupportSubject.DELIVERY,
    "доставка": SupportSubject.DELIVERY,
    "оплата": SupportSubject.DELIVERY,
    "product": SupportSubject.PRODUCT,
    "товар": SupportSubject.PRODUCT,
    "return": SupportSubject.RETURN,
    "complaint": SupportSubject.RETURN,
    "возврат": SupportSubject.RETURN,
    "жалоба": SupportSubject.RETURN,
    "other": SupportSubject.OTHER,
    "другое": SupportSubject.OTHER,
}


class StaffForm(StatesGroup):
    forwarded = State()  # waiting for a message forwarded from the new employee


def usage() -> str:
    return _(
        "Usage: /staff add @username (or id) [subjects], /staff remove @username (or id); "
        "/staff add alone, then forward me a message from the person. Subjects: order "
        "delivery product return other."
    )


def _staff_line(staff: SupportStaff) -> str:
    who = h(staff.first_name or str(staff.user_id))
    if staff.username:
        who += f" @{h(staff.username)}"
    subjects = ", ".join(subject_label(SupportSubject(code)) for code in staff.subjects) or _(
        "no subject in particular"
    )
    return f"• {who} (id {staff.user_id}): {subjects}"


async def _listing(session: AsyncSession) -> str:
    staff = await conversations.staff_list(session)
    if not staff:
        return (
            _("No employees yet: every admin is mentioned in new conversations.") + "\n\n" + usage()
        )
    lines = [_("👥 <b>Staff</b>")] + [_staff_line(person) for person in staff]
    return "\n".join(lines) + "\n\n" + usage()


async def _find(session: AsyncSession, who: str) -> User | None:
    if who.lstrip("-").isdigit():
        return await session.get(User, int(who))
    username = who.removeprefix("@").casefold()
    return await session.scalar(select(User).where(func.lower(User.username) == username))


def _subjects(words: list[str]) -> list[SupportSubject] | None:
    """The subjects named (None: a word that is not one)."""
    found = [SUBJECT_WORDS.get(word.casefold().strip(",")) for word in words]
    return None if any(subject is None for subject in found) else [s for s in found if s]


async def staff_command(
    message: Message, command: CommandObject, session: AsyncSession, state: FSMContext
) -> None:
    assert message.from_user is not None
    words = (command.args or "").split()
    if not words:
        await message.answer(await _listing(session))
        return
    action, rest = words[0].lower(), words[1:]
    if action == "add" and not rest:
        await state.set_state(StaffForm.forwarded)
        await message.answer(_("Forward me any message from the new employee (or /cancel)."))
        return
    if action not in ("add", "remove") or not rest:
        await message.answer(usage())
        return
    user = await _find(session, rest[0])
    if user is None:
        await message.answer(
            _(
                "I don't know {who}: they must write to the bot first (then use their "
                "@username or id), or forward me a message from them."
            ).format(who=h(rest[0]))
        )
        return
    if action == "remove":
        removed = await conversations.remove_staff(session, user.id)
        await message.answer(
            _("Removed {name} from the staff.").format(name=h(user.first_name))
            if removed
            else _("{name} is not on the staff.").format(name=h(user.first_name))
        )
        return
    subjects = _subjects(rest[1:])
    if subjects is None:
        await message.answer(usage())
        return
    await _add(message, session, user.id, user.first_name, user.username, subjects)


async def _add(
    message: Message,
    session: AsyncSession,
    user_id: int,
    first_name: str,
    username: str | None,
    subjects: list[SupportSubject],
) -> None:
    assert message.from_user is not None
    staff = await conversations.add_staff(
        session, user_id, first_name, username, subjects, by=message.from_user.id
    )
    await message.answer(
        _("✅ On the staff: {line}").format(line=_staff_line(staff))
        + "\n"
        + _("Subjects are set with /staff add {id} order delivery…").format(id=user_id)
    )


async def forwarded(message: Message, session: AsyncSession, state: FSMContext) -> None:
    origin = message.forward_origin
    if not isinstance(origin, MessageOriginUser):
        await message.answer(
            _(
                "I can't see who wrote this (their privacy settings hide it). Use /staff add "
                "with their @username or id instead."
            )
        )
        return
    await state.set_state(None)
    person = origin.sender_user
    await _add(message, session, person.id, person.first_name, person.username, [])


def register(router: Router) -> None:
    router.message.register(staff_command, Command("staff"))
    router.message.register(forwarded, StateFilter(StaffForm.forwarded), Magic(F.forward_origin))
