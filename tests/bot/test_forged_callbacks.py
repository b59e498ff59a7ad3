"""Forged callback data with numbers out of range — ids past the database's 32-bit columns,
negative ids and pages — for every callback class the bot has: each is answered as an
out-of-date button, for a shopper and for an admin, and nothing fails."""

from __future__ import annotations

import enum
import logging
from typing import Any

import pytest
from aiogram.filters.callback_data import CallbackData
from pydantic.fields import FieldInfo

import shopbot.bot.routers  # noqa: F401 (imports every router, so every callback class)
from tests.bot.conftest import Catalogue, ShopFactory

ADMIN = 9000
OUT_OF_RANGE = (2**31, 2**63, 2**64 + 5, -2, -(2**63))
STALE = "Эта кнопка устарела. Откройте меню заново."


def callback_classes() -> list[type[CallbackData]]:
    found: list[type[CallbackData]] = []
    pending = list(CallbackData.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__prefix__)


def valid_value(field: FieldInfo) -> Any:
    if field.default is not None and not field.is_required():
        return field.default
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation))
    if annotation is int:
        return 1
    return "x"


def forgeries() -> list[tuple[str, str]]:
    """(description, callback data) for every int field of every class, each bad value."""
    forged = []
    for cls in callback_classes():
        fields = cls.model_fields
        valid = {name: valid_value(field) for name, field in fields.items()}
        cls.unpack(cls(**valid).pack())  # the baseline is accepted: only the number is bad
        for name, field in fields.items():
            if field.annotation is not int:
                continue
            for bad in OUT_OF_RANGE:
                values = {**valid, name: bad}
                parts = [
                    value.value if isinstance(value, enum.Enum) else str(value)
                    for value in values.values()
                ]
                data = cls.__separator__.join([cls.__prefix__, *parts])
                forged.append((f"{cls.__name__}.{name}={bad}", data))
    return forged


def test_every_callback_class_is_covered() -> None:
    names = {description.split(".")[0] for description, _ in forgeries()}
    int_classes = {
        cls.__name__
        for cls in callback_classes()
        if any(field.annotation is int for field in cls.model_fields.values())
    }
    assert names == int_classes
    assert {"CatalogCb", "CartCb", "OrdersCb", "PayCb", "AdminProductCb", "AdminOrderCb"} <= names


@pytest.mark.parametrize(("description", "data"), forgeries())
def test_out_of_range_numbers_do_not_unpack(description: str, data: str) -> None:
    cls = next(c for c in callback_classes() if data.startswith(c.__prefix__ + c.__separator__))
    with pytest.raises(ValueError):
        cls.unpack(data)


async def test_forged_numbers_get_the_out_of_date_answer(
    shop_factory: ShopFactory, catalogue: Catalogue, caplog: pytest.LogCaptureFixture
) -> None:
    shop = await shop_factory(admin_ids=[ADMIN])
    shopper = shop.emulator.user(101, "Анна")
    admin = shop.emulator.user(ADMIN, "Хозяйка")
    answers: dict[str, list[str | None]] = {}
    for person in (shopper, admin):
        await person.send_text("/start")
        for description, data in forgeries():
            answer = await person.press_data(data, message=person.last)
            assert answer is not None, f"{description}: no answer"
            answers.setdefault(answer.text or "", []).append(f"{person.id} {description}")
    assert list(answers) == [STALE], {text: pressed[:3] for text, pressed in answers.items()}
    assert shop.emulator.errors == []
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
