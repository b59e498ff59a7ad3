"""Phone numbers: what a shopper types or shares, checked and kept in one form.

A number is kept as E.164 (``+79001234567``): one spelling for every way it can be written,
readable by people and by every API. Parsing and validation are Google's libphonenumber
rules (the ``phonenumbers`` package), with Russia as the region of numbers written without
a country code. Core code: no aiogram here.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "RU"

# What a person writes a number with: digits, one leading plus, spaces, brackets, dashes, dots.
# Anything else (letters, a second number after a comma, "доб. 12") is not one phone number;
# libphonenumber alone would read letters as a keypad word and drop an extension silently.
_WRITTEN_NUMBER = re.compile(r"\+?[\d\s().\-]+")
_EARLY_TEN_DIGITS = re.compile(r"\+\d{10}")


def normalise_phone(text: str, *, shared: bool = False) -> str | None:
    """A phone number as E.164 (``+79001234567``), or None if ``text`` is not a valid one.

    Accepts ``+7 900 123-45-67``, ``8 (900) 123-45-67``, ``9001234567``, ``79001234567``,
    ``+375 29 123 45 67`` and ``00 44 20 7946 0958``; numbers without a country code are
    Russian. ``shared`` is for a Telegram contact's ``phone_number``, which is always
    international even without its plus (``375291234567`` is a Belarusian number there).
    """
    written = text.strip()
    if not _WRITTEN_NUMBER.fullmatch(written):
        return None
    digits = re.sub(r"\D", "", written)
    if written.startswith("+") or shared:
        candidate = "+" + digits
    elif digits.startswith("00"):  # the international prefix most of the world dials
        candidate = "+" + digits[2:]
    else:
        candidate = digits
    try:
        number = phonenumbers.parse(candidate, DEFAULT_REGION)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def receipt_phone(phone: str) -> str | None:
    """The form a 54-FZ receipt wants: digits with the country code (``79001234567``);
    None if ``phone`` is not a valid number.

    Orders keep E.164, so this is the number without its plus. Orders placed before this
    module existed may hold other spellings (``8 (900) 123-45-67``), and one wrong one: a
    typed ten-digit Russian number was kept with a bare plus (``+9001234567``). When such a
    value is no valid number as written, it is read as the Russian number it was.
    """
    e164 = normalise_phone(phone)
    if e164 is None and _EARLY_TEN_DIGITS.fullmatch(phone.strip()):
        e164 = normalise_phone(phone.strip()[1:])
    return e164[1:] if e164 is not None else None
