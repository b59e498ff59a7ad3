"""The command line speaks the language of SHOPBOT_LANGUAGE or LANG, Russian by default."""

from __future__ import annotations

import argparse
import asyncio
import gettext
from pathlib import Path

import pytest

from shopbot.cli import main
from shopbot.i18n import environment_language

BAD = "sku;name;price\nA-1;Кружка;abc\n"
GOOD = "sku;name;price\nA-1;Кружка;590\n"


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({}, "ru"),
        ({"LANG": "C.UTF-8"}, "ru"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "ru"),
        ({"LANG": "en_GB.UTF-8", "SHOPBOT_LANGUAGE": "ru"}, "ru"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "ru_RU.UTF-8"}, "en"),
        ({"SHOPBOT_LANGUAGE": "en"}, "en"),
    ],
)
def test_the_language_comes_from_the_environment(environ: dict[str, str], language: str) -> None:
    assert environment_language(environ) == language


async def cli(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, *args: str, **env: str
) -> int:
    """``shopbot ARGS`` in this process, in an environment without a language but ``env``."""
    for name in ("SHOPBOT_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return await asyncio.to_thread(main, list(args))


async def test_the_importer_speaks_russian_by_default(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    tmp_path: Path,
) -> None:
    """Its errors were English whatever the language."""
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text(BAD, encoding="utf-8")
    good.write_text(GOOD, encoding="utf-8")

    code = await cli(monkeypatch, database_url, tmp_path, "import", str(bad))
    out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        "ошибка: строка 2, Цена: «abc» — не цена; пишите так: 1299, 1299.00, 1 299,00 или 1299 ₽.",
        "импорт не выполнен: 1 ошибка; ничего не изменилось",
    ]

    code = await cli(monkeypatch, database_url, tmp_path, "import", "--dry-run", str(good))
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith("строк: 1; будет записано: новых 1, изменённых 0")

    code = await cli(monkeypatch, database_url, tmp_path, "import", str(bad), LANG="en_US.UTF-8")
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "error: line 2, price: The price “abc” is not a price; write it like 1299, 1299.00, "
        "1 299,00 or 1299 ₽.",
        "import failed: 1 problem; nothing was changed",
    ]


def test_the_help_is_in_the_language_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse's own words too ("usage:", "show this help message and exit", its errors)."""
    monkeypatch.setenv("SHOPBOT_LANGUAGE", "ru")
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("использование: shopbot import [-h]")
    assert "всё проверить, ничего не записывать" in out
    assert "-h, --help            показать эту справку и выйти" in out
    with pytest.raises(SystemExit):
        main(["import"])
    assert capsys.readouterr().err == (
        "shopbot import: не хватает аргументов: path (см. shopbot import --help)\n"
    )
    assert argparse._ is gettext.gettext  # left as it was, for other programs in the process

    monkeypatch.setenv("SHOPBOT_LANGUAGE", "en")
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    assert "show this help message and exit" in capsys.readouterr().out


async def test_export_writes_the_header_the_owner_imported_with(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    tmp_path: Path,
) -> None:
    russian = tmp_path / "каталог.csv"
    russian.write_text("Артикул;Наименование;Цена;Активен\nA-1;Кружка;590;да\n", "utf-8")
    exported = tmp_path / "out.csv"
    assert await cli(monkeypatch, database_url, tmp_path, "import", str(russian)) == 0

    code = await cli(monkeypatch, database_url, tmp_path, "export", str(exported), LANG="en_US")
    assert code == 0 and capsys.readouterr().out.endswith(f"catalogue written to {exported}\n")
    text = exported.read_text("utf-8-sig")
    assert text.startswith("Артикул;Наименование;Цена;Остаток;")
    assert "A-1;Кружка;590,00;0;;;да;;;0;" in text

    code = await cli(
        monkeypatch, database_url, tmp_path, "export", str(exported), "--language", "en"
    )
    assert code == 0 and exported.read_text("utf-8-sig").startswith("sku;name;price;stock;")
    code = await cli(
        monkeypatch, database_url, tmp_path, "export", str(exported), EXPORT_LANGUAGE="en"
    )
    assert code == 0 and exported.read_text("utf-8-sig").startswith("sku;name;price;stock;")

    code = await cli(monkeypatch, database_url, tmp_path, "import", "--dry-run", str(exported))
    assert code == 0 and "изменённых 0" in capsys.readouterr().out
    code = await cli(monkeypatch, database_url, tmp_path, "export", str(tmp_path / "no" / "x.csv"))
    assert code == 1 and "shopbot export: не удаётся записать" in capsys.readouterr().err


async def test_a_dry_run_lists_the_changes_and_writes_them_all_when_long(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    tmp_path: Path,
) -> None:
    first = tmp_path / "first.csv"
    first.write_text(
        "sku;name;price\n" + "".join(f"A-{n:02d};Товар {n};100\n" for n in range(25)), "utf-8"
    )
    assert await cli(monkeypatch, database_url, tmp_path, "import", str(first)) == 0
    capsys.readouterr()
    prices = tmp_path / "prices.csv"
    prices.write_text(first.read_text("utf-8").replace(";100\n", ";120\n"), "utf-8")
    monkeypatch.chdir(tmp_path)

    code = await cli(monkeypatch, database_url, tmp_path, "import", "--dry-run", str(prices))

    out = capsys.readouterr().out.splitlines()
    assert code == 0 and out[1] == "Что изменится:"
    assert out[2] == "  A-00 «Товар 0»: цена 100\u00a0₽ → 120\u00a0₽"
    assert len(out) == 2 + 20 + 1
    assert out[-1] == "  … и ещё 5 товаров; все изменения — в prices-changes.csv"
    listing = (tmp_path / "prices-changes.csv").read_text("utf-8-sig").splitlines()
    assert len(listing) == 26 and listing[-1] == "A-24;Товар 24;изменён;Цена;100\u00a0₽;120\u00a0₽"

    short = tmp_path / "one.csv"
    short.write_text("sku;name;price\nA-00;Товар 0;130\n", "utf-8")
    code = await cli(
        monkeypatch, database_url, tmp_path, "import", "--dry-run", "--changes", "c.csv", str(short)
    )
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == ["  A-00 «Товар 0»: цена 100\u00a0₽ → 130\u00a0₽", "все изменения — в c.csv"]
    assert (tmp_path / "c.csv").exists()
