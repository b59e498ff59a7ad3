"""Phone numbers as shoppers type and share them: one E.164 form, or a refusal."""

from __future__ import annotations

import pytest

from shopbot.phones import normalise_phone, receipt_phone

RUSSIAN_MOBILE = "+79001234567"


@pytest.mark.parametrize(
    "typed",
    [
        "+7 900 123-45-67",
        "+7 (900) 123-45-67",
        "+7-900-123-45-67",
        "+7.900.123.45.67",
        "+79001234567",
        "8 (900) 123-45-67",
        "8 900 123 45 67",
        "8-900-123-45-67",
        "89001234567",
        "9001234567",
        "900 123 45 67",
        "(900) 123-45-67",
        "79001234567",
        "7 900 123 45 67",
        "  +7 900 123 45 67\n",
        "8 10 7 900 123 45 67",  # dialled through the Russian international prefix
    ],
)
def test_ways_of_writing_a_russian_mobile(typed: str) -> None:
    assert normalise_phone(typed) == RUSSIAN_MOBILE


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+7 (495) 123-45-67", "+74951234567"),  # a Moscow landline
        ("8 (812) 123-45-67", "+78121234567"),  # a St Petersburg landline
        ("8-800-555-35-35", "+78005553535"),  # toll-free
        ("+7 707 123 4567", "+77071234567"),  # Kazakhstan shares +7
        ("+375 29 123 45 67", "+375291234567"),  # Belarus
        ("+380 44 123 4567", "+380441234567"),  # Ukraine
        ("+998 90 123 45 67", "+998901234567"),  # Uzbekistan
        ("+49 30 123456", "+4930123456"),  # Germany, a short Berlin number
        ("+44 20 7946 0958", "+442079460958"),  # the United Kingdom
        ("+1 650 253 0000", "+16502530000"),  # the United States
        ("+86 138 0013 8000", "+8613800138000"),  # China
        ("00 44 20 7946 0958", "+442079460958"),  # 00, the prefix most of the world dials
        ("8 10 49 30 123456", "+4930123456"),  # 8 10, the Russian one
    ],
)
def test_landlines_and_foreign_numbers(typed: str, e164: str) -> None:
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "+",
        "позвоните мне",
        "my number",
        "12345",  # too short
        "+7 900 123-45-6",  # one digit short
        "+7 900 123-45-678",  # one digit too many
        "8 900 123 45 6",
        "900 123 45",
        "99999999999999999999",  # too long for any number
        "+7 000 000 00 00",  # the right length, but no such number
        "1234567890",  # ten digits that are no Russian number
        "+0 123 456 789",  # no country code 0
        "375291234567",  # typed without its plus: read as Russian, and no such number
        "+7 9OO 123 45 67",  # the letter O for a zero
        "+7 900 CALL ME",  # keypad letters are not taken for digits
        "+7900123456a",
        "+7 900 123 45 67 доб. 12",  # an extension would be lost: refused, not dropped
        "+7 900 123 45 67 ext 5",
        "+7 900 123 45 67, +7 901 123 45 67",  # two numbers
        "++79001234567",
        "7+9001234567",
        "tel:+79001234567",
        "<b>+79001234567</b>",
    ],
)
def test_what_is_not_a_phone_number_is_refused(typed: str) -> None:
    assert normalise_phone(typed) is None


@pytest.mark.parametrize(
    ("phone_number", "e164"),
    [
        ("79001234567", RUSSIAN_MOBILE),  # how Telegram clients send one's own contact
        ("+79001234567", RUSSIAN_MOBILE),
        ("375291234567", "+375291234567"),  # international even without its plus
        ("4930123456", "+4930123456"),
        ("442079460958", "+442079460958"),
    ],
)
def test_a_shared_contact_is_an_international_number(phone_number: str, e164: str) -> None:
    assert normalise_phone(phone_number, shared=True) == e164


@pytest.mark.parametrize("phone_number", ["", "123", "70000000000", "89001234567"])
def test_a_shared_contact_that_is_no_number_is_refused(phone_number: str) -> None:
    # 89001234567 as an international number is +8 900…: no such country code.
    assert normalise_phone(phone_number, shared=True) is None


@pytest.mark.parametrize(
    "typed", ["+7 900 123-45-67", "8 (812) 123-45-67", "+375 29 123 45 67", "+44 20 7946 0958"]
)
def test_the_kept_form_reads_back_as_itself(typed: str) -> None:
    kept = normalise_phone(typed)
    assert kept is not None
    assert normalise_phone(kept) == kept
    assert normalise_phone(kept, shared=True) == kept


@pytest.mark.parametrize(
    ("phone", "digits"),
    [
        ("+79001234567", "79001234567"),
        ("+375291234567", "375291234567"),
        ("+4930123456", "4930123456"),  # a valid number as written stays as written
        ("8 (900) 123-45-67", "79001234567"),
        ("900 123 45 67", "79001234567"),
        ("+375 29 123-45-67", "375291234567"),
        # Kept so by the first checkout for a typed "9001234567" (+90 is Turkey, and no
        # Turkish number is this short): the Russian number it was.
        ("+9001234567", "79001234567"),
    ],
)
def test_the_receipt_form_is_digits_with_the_country_code(phone: str, digits: str) -> None:
    assert receipt_phone(phone) == digits


@pytest.mark.parametrize("phone", ["", "позвоните мне", "+7 000 000 00 00", "+0001234567"])
def test_no_receipt_form_for_what_is_not_a_number(phone: str) -> None:
    assert receipt_phone(phone) is None
