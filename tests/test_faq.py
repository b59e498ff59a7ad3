"""The FAQ file: read like a catalogue (encodings, delimiters, line numbers), applied as the
whole FAQ, exported back unchanged, and matched against typed questions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.cli import main
from shopbot.services.faq import all_entries, faq_csv, import_faq, match_question, topics

SAMPLE = Path(__file__).resolve().parents[1] / "catalog" / "faq.csv"
SMALL = (
    "question;answer;topic\n"
    "Сколько стоит доставка?;300 ₽ по городу.;Доставка\n"
    "Как вернуть товар?;В течение 14 дней.;Возврат\n"
)


async def test_the_file_becomes_the_whole_faq(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    first = await import_faq(session_factory, SMALL.encode(), dry_run=False)
    assert (first.added, first.updated, first.removed) == (2, 0, 0)
    changed = (
        "Вопрос,Ответ,Тема\n"
        'сколько стоит   доставка?,"350 руб. по городу; бесплатно от 3000 руб.",Доставка\n'
        "Можно ли оплатить картой?,Да.,Оплата\n"
    ).encode("cp1251")
    check = await import_faq(session_factory, changed, dry_run=True)
    assert (check.added, check.updated, check.removed, check.unchanged) == (1, 1, 1, 0)
    async with session_factory() as session:
        assert len(await all_entries(session)) == 2  # the dry run wrote nothing
    applied = await import_faq(session_factory, changed, dry_run=False)
    assert (applied.added, applied.updated, applied.removed) == (1, 1, 1)
    async with session_factory() as session:
        entries = await all_entries(session)
        assert [(e.question, e.answer, e.topic) for e in entries] == [
            ("сколько стоит   доставка?", "350 руб. по городу; бесплатно от 3000 руб.", "Доставка"),
            ("Можно ли оплатить картой?", "Да.", "Оплата"),
        ]
        assert [topic.name for topic in await topics(session)] == ["Доставка", "Оплата"]


async def test_a_bad_file_changes_nothing_and_names_its_lines(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await import_faq(session_factory, SMALL.encode(), dry_run=False)
    bad = (
        "question;answer;topic\n"
        "Первый?;Ответ;Тема\n"
        '"Многострочный\nвопрос?";;Тема\n'
        "первый?;Ещё ответ;Тема\n"
    ).encode()
    report = await import_faq(session_factory, bad, dry_run=False)
    assert not report.ok
    assert [(p.line, p.code) for p in report.errors] == [
        (3, "missing_value"),
        (5, "duplicate_question"),
    ]
    assert report.errors[0].describe("ru") == (
        "строка 3: Столбец «Ответ» пуст, а он нужен каждому вопросу."
    )
    async with session_factory() as session:
        assert len(await all_entries(session)) == 2
    missing = await import_faq(session_factory, b"question;answer\nA?;B\n", dry_run=True)
    assert [p.code for p in missing.errors] == ["missing_column"]


async def test_the_export_gives_the_sample_back_unchanged(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    data = SAMPLE.read_bytes()
    report = await import_faq(session_factory, data, dry_run=False)
    assert report.ok and report.added >= 12
    async with session_factory() as session:
        assert await faq_csv(session) == data
        assert len(await topics(session)) >= 5


async def test_a_typed_question_matches_by_its_words(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await import_faq(session_factory, SAMPLE.read_bytes(), dry_run=False)
    async with session_factory() as session:
        found = await match_question(session, "а сколько стоит доставка")
        assert found.confident is not None
        assert found.confident.question == "Сколько стоит доставка?"
        loose = await match_question(session, "доставка")
        assert loose.confident is None
        assert any("доставк" in entry.question.lower() for entry in loose.close)
        mugs = await match_question(session, "кружку в посудомоечной машине мыть можно?")
        assert mugs.confident is not None and "посудомоечной" in mugs.confident.question
        nothing = await match_question(session, "зелёный слон")
        assert nothing.confident is None and not nothing.close


async def test_the_command_line_imports_a_faq_in_russian(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    engine: AsyncEngine,  # a fresh database
    tmp_path: Path,
) -> None:
    for name in ("SHOPBOT_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    path = tmp_path / "faq.csv"
    path.write_text(SMALL, encoding="utf-8")

    code = await asyncio.to_thread(main, ["import-faq", str(path), "--dry-run"])
    assert code == 0
    assert "Будет добавлено: 2" in capsys.readouterr().out
    code = await asyncio.to_thread(main, ["import-faq", str(path)])
    assert code == 0
    assert "FAQ загружен. Добавлено: 2" in capsys.readouterr().out
    path.write_text("question;answer;topic\nВопрос?;;Тема\n", encoding="utf-8")
    code = await asyncio.to_thread(main, ["import-faq", str(path)])
    assert code == 1
    assert "строка 2: Столбец «Ответ» пуст" in capsys.readouterr().err
