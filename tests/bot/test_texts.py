"""Unit checks for what the bot renders: limits, escaping, plural forms, translations."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from shopbot.bot.i18n import LOCALES_DIR, create_i18n
from shopbot.bot.render import CAPTION_LIMIT, fit, visible_length
from shopbot.bot.routers.checkout import normalise_phone
from shopbot.bot.texts import delivery_button, delivery_question, pieces, product_card
from shopbot.i18n import LOCALES_DIR as CORE_LOCALES_DIR
from shopbot.models import DeliveryMethod, Product
from shopbot.services.delivery import DeliveryOption

i18n = create_i18n()


def test_long_description_with_markup_characters_fits_a_caption() -> None:
    product = Product(
        name="Набор «Кофе & чай» <подарочный>",
        price=249000,
        stock=2,
        description="<b>не тег</b> & амперсанд " * 200,
    )
    with i18n.context(), i18n.use_locale("ru"):
        caption = product_card(product, photo=True)
    assert visible_length(caption) <= CAPTION_LIMIT
    assert "&lt;подарочный&gt;" in caption and "&amp;" in caption
    assert "<b>не тег</b>" not in caption
    assert caption.endswith("…")


def test_fit_never_splits_an_entity() -> None:
    text = fit("<b>x</b>\n", "&" * 50, 20)
    assert visible_length(text) <= 20
    assert text.count("&amp;") == text.count("&")


@pytest.mark.parametrize(
    ("n", "ru", "en"),
    [
        (1, "1 товар", "1 item"),
        (2, "2 товара", "2 items"),
        (5, "5 товаров", "5 items"),
        (11, "11 товаров", "11 items"),
        (21, "21 товар", "21 items"),
        (22, "22 товара", "22 items"),
    ],
)
def test_russian_plural_forms(n: int, ru: str, en: str) -> None:
    with i18n.context(), i18n.use_locale("ru"):
        assert pieces(n) == ru
    with i18n.context(), i18n.use_locale("en"):
        assert pieces(n) == en


def messages_in_code(folder: Path, *, skip: tuple[str, ...] = ()) -> set[str]:
    """The msgids the code under ``folder`` marks, outside the folders named in ``skip``."""

    def wanted(path: str) -> bool:
        relative = Path(path).relative_to(folder)
        return not relative.parts or relative.parts[0] not in skip

    return {
        (message[0] if isinstance(message, tuple) else message)
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(folder),
            method_map=[("**.py", "python")],
            keywords={"_": None, "__": None, "N_": None, "ngettext": (1, 2)},
            directory_filter=wanted,
        )
    }


def catalogue_entries(locales: Path, language: str, *, translated: bool) -> set[str]:
    """The msgids of a language's catalogues (with a translation, if ``translated``)."""
    found = set()
    for po_path in (locales / language / "LC_MESSAGES").glob("*.po"):
        with po_path.open("rb") as po:
            found |= {
                m.id[0] if isinstance(m.id, tuple) else m.id
                for m in read_po(po, locale=language)
                if m.id
                and (not translated or (all(m.string) if isinstance(m.string, tuple) else m.string))
            }
    return found


# The bot's texts, and the core's (importer, command line, services): each in its catalogues.
AREAS = [
    pytest.param(LOCALES_DIR.parent, (), LOCALES_DIR, id="bot"),
    pytest.param(CORE_LOCALES_DIR.parent, ("bot", "emulators"), CORE_LOCALES_DIR, id="core"),
]


@pytest.mark.parametrize(("code", "skip", "locales"), AREAS)
def test_every_message_in_the_code_has_a_russian_translation(
    code: Path, skip: tuple[str, ...], locales: Path
) -> None:
    in_code = messages_in_code(code, skip=skip)
    assert in_code
    assert in_code - catalogue_entries(locales, "ru", translated=True) == set()
    assert in_code - catalogue_entries(locales, "en", translated=False) == set()


def test_the_core_texts_are_found_where_they_are_written() -> None:
    """The importer's, the command line's and the services' texts are in the core's
    catalogues (the importer's English errors once reached the Russian chat)."""
    core = messages_in_code(CORE_LOCALES_DIR.parent, skip=("bot", "emulators"))
    assert "The header has no “{column}” column." in core  # the importer
    assert "error: {problem}" in core  # the command line


def test_a_missing_translation_is_caught(tmp_path: Path) -> None:
    (tmp_path / "ru" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "ru" / "LC_MESSAGES" / "core.po").write_text(
        'msgid "The file is empty."\nmsgstr ""\n', encoding="utf-8"
    )
    assert catalogue_entries(tmp_path, "ru", translated=True) == set()
    assert catalogue_entries(tmp_path, "ru", translated=False) == {"The file is empty."}


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("+7 900 123-45-67", "+79001234567"),
        ("8 (900) 123-45-67", "+79001234567"),
        ("79001234567", "+79001234567"),
        ("+375 29 123 45 67", "+375291234567"),
        ("позвоните мне", None),
        ("12345", None),
    ],
)
def test_phone_numbers(typed: str, phone: str | None) -> None:
    assert normalise_phone(typed) == phone


def test_delivery_options_read_in_both_languages() -> None:
    options = [
        DeliveryOption(id="1", kind=DeliveryMethod.PICKUP, address="ул. Покровка, 12"),
        DeliveryOption(id="2", kind=DeliveryMethod.COURIER, price="350", free_from="3000"),
    ]
    expected = {
        "ru": (
            "Как вы хотите получить заказ?\n\n"
            "🏬 <b>Самовывоз</b> — бесплатно\nул. Покровка, 12\n"
            "🚚 <b>Доставка курьером</b> — 350\u00a0₽, бесплатно от 3\u00a0000\u00a0₽",
            ["🏬 Самовывоз — бесплатно", "🚚 Курьером — бесплатно"],
        ),
        "en": (
            "How would you like to get your order?\n\n"
            "🏬 <b>Pickup</b> — free\nул. Покровка, 12\n"
            "🚚 <b>Courier delivery</b> — 350\u00a0₽, free from 3\u00a0000\u00a0₽",
            ["🏬 Pickup — free", "🚚 Courier — free"],
        ),
    }
    for language, (question, buttons) in expected.items():
        with i18n.context(), i18n.use_locale(language):
            assert delivery_question(options, 129900) == question
            labels = [delivery_button(option, 300000, with_price=True) for option in options]
        assert labels == buttons
