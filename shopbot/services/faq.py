"""Common questions (FAQ) the owner keeps: the CSV file that is the whole FAQ, the topics and
entries shoppers browse, and the entries a typed question matches.

The file (``question;answer;topic``, header in English or Russian) is read with the catalogue
importer's machinery (encodings, delimiters, line numbers of records) and applied all or
nothing: entries are matched by question, new ones added, changed ones updated, the ones the
file lacks removed.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import unit_of_work
from shopbot.i18n import N_, Text
from shopbot.importer.base import ImportProblem, ProblemList
from shopbot.importer.columns import normal
from shopbot.importer.reader import NotCsv, decode, read_records, sniff_delimiter
from shopbot.models import FaqEntry, faq_key, utcnow
from shopbot.search.analysis import is_stop_word, keys, words
from shopbot.search.meaning import MeaningIndex, Ranked, fuse
from shopbot.services.preferences import recall, remember
from shopbot.services.text import guard, unguard

FAQ_COLUMNS = ("question", "answer", "topic")
HEADERS = {
    "en": {"question": "question", "answer": "answer", "topic": "topic"},
    "ru": {"question": "Вопрос", "answer": "Ответ", "topic": "Тема"},
}
_KNOWN = {normal(name): column for names in HEADERS.values() for column, name in names.items()}
# "ru" or "en": the header language of the last FAQ imported, which the export writes back.
FAQ_HEADER_LANGUAGE = "faq_header_language"
MAX_QUESTION = 512
MAX_TOPIC = 128
MAX_ANSWER = 20_000
MAX_ENTRIES = 1000
# A typed text answers with an entry when it has this share of the entry's question words.
CONFIDENT_SHARE = 0.6
# Cosine similarity (USE v3) of a typed text to an entry's question that answers with the
# entry, and the words (not stop words) the text needs for that; the floor of entries
# offered loosely is the FAQ meaning index's (README, "Search by meaning": tuned on the
# labelled FAQ queries).
MEANING_CONFIDENT = 0.55
MEANING_CLOSE = 0.35
MIN_WORDS_CONFIDENT = 2

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaqColumn:
    """A FAQ column named in a message: its header word in the reader's language."""

    key: str

    def render(self, language: str) -> str:
        return HEADERS.get(language, HEADERS["en"])[self.key]


@dataclass(slots=True)
class FaqRow:
    line: int
    question: str
    answer: str
    topic: str


@dataclass
class FaqReport:
    """What an import did (or with ``dry_run`` would do), or why it did nothing."""

    dry_run: bool
    errors: ProblemList = field(default_factory=ProblemList)
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> Text:
        """The counts, for the command line and the chat."""
        if self.dry_run:
            template = N_(
                "FAQ check, nothing written yet: {added} to add, {updated} to change, "
                "{removed} to remove, {unchanged} unchanged."
            )
        else:
            template = N_(
                "FAQ imported: {added} added, {updated} changed, {removed} removed, "
                "{unchanged} unchanged."
            )
        return Text(
            template,
            {
                "added": self.added,
                "updated": self.updated,
                "removed": self.removed,
                "unchanged": self.unchanged,
            },
        )


def _problem(line: int | None, code: str, template: str, **params: object) -> ImportProblem:
    return ImportProblem(line, None, code, Text(template, params))


def read_faq(data: bytes) -> tuple[list[FaqRow], str, ProblemList]:
    """The rows of a FAQ file, its header language and every problem found."""
    errors = ProblemList()
    try:
        text = decode(data)
    except NotCsv as exc:
        errors.add(ImportProblem(None, None, "not_csv", exc.text))
        return [], "en", errors
    lines = io.StringIO(text, newline="").readlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        errors.add(_problem(None, "empty_file", N_("The file is empty.")))
        return [], "en", errors
    delimiter = sniff_delimiter(lines[first])
    records = read_records(lines, first, delimiter, errors)
    header = next(records, None)
    if header is None or errors:
        return [], "en", errors
    line, names = header
    index: dict[str, int] = {}
    russian = 0
    for position, name in enumerate(names):
        column = _KNOWN.get(normal(name))
        if column is not None and column not in index:
            index[column] = position
            russian += HEADERS["ru"][column] == name.replace("\ufeff", "").strip()
    language = "ru" if russian * 2 > len(index) else "en"
    for column in FAQ_COLUMNS:
        if column not in index:
            errors.add(
                _problem(
                    line,
                    "missing_column",
                    N_("The header has no “{column}” column (a FAQ has {columns})."),
                    column=FaqColumn(column),
                    columns="question;answer;topic / Вопрос;Ответ;Тема",
                )
            )
    if errors:
        return [], language, errors
    rows = _check_rows(records, index, errors)
    if not rows and not errors:
        errors.add(_problem(None, "empty_file", N_("The file has a header but no questions.")))
    return rows, language, errors


def _check_rows(
    records: Iterator[tuple[int, list[str]]], index: dict[str, int], errors: ProblemList
) -> list[FaqRow]:
    rows: list[FaqRow] = []
    first_line: dict[str, int] = {}
    width = max(index.values()) + 1
    limits = {"question": MAX_QUESTION, "answer": MAX_ANSWER, "topic": MAX_TOPIC}
    for line, fields in records:
        if not any(field.strip() for field in fields):
            continue
        fields.extend([""] * (width - len(fields)))
        values: dict[str, str] = {}
        for column in FAQ_COLUMNS:
            value = unguard(fields[index[column]].strip())
            value = value.replace("\r\n", "\n").replace("\r", "\n")
            if not value:
                errors.add(
                    _problem(
                        line,
                        "missing_value",
                        N_("Column “{column}” is empty; every question needs one."),
                        column=FaqColumn(column),
                    )
                )
            elif len(value) > limits[column]:
                errors.add(
                    _problem(
                        line,
                        "value_too_long",
                        N_("The {column} is {length} characters long; at most {most} fit."),
                        column=FaqColumn(column),
                        length=len(value),
                        most=limits[column],
                    )
                )
            values[column] = value
        key = faq_key(values["question"])
        if key and first_line.setdefault(key, line) != line:
            errors.add(
                _problem(
                    line,
                    "duplicate_question",
                    N_("This question already appears on line {first}."),
                    first=str(first_line[key]),
                )
            )
        rows.append(FaqRow(line, values["question"], values["answer"], values["topic"]))
    if len(rows) > MAX_ENTRIES:
        errors.add(
            _problem(
                None,
                "too_many_rows",
                N_("The file has {count} questions; a FAQ holds at most {most}."),
                count=len(rows),
                most=MAX_ENTRIES,
            )
        )
    return rows


async def import_faq(
    sessions: async_sessionmaker[AsyncSession], data: bytes, *, dry_run: bool
) -> FaqReport:
    """Replace the FAQ with the file's (in one transaction), or with ``dry_run`` count what
    would change."""
    report = FaqReport(dry_run=dry_run)
    rows, language, report.errors = read_faq(data)
    if not report.ok:
        return report
    async with sessions() as session:
        if dry_run:
            await replace_faq(session, rows, report)
            return report
        async with unit_of_work(session):
            await replace_faq(session, rows, report)
            connection = await session.connection()
            await remember(connection, FAQ_HEADER_LANGUAGE, language, now=utcnow())
    return report


async def replace_faq(session: AsyncSession, rows: list[FaqRow], report: FaqReport) -> None:
    """Make the stored FAQ the rows' (flushes only), counting the changes in ``report``;
    with ``report.dry_run`` only count."""
    existing = {entry.question_key: entry for entry in await session.scalars(select(FaqEntry))}
    seen: set[str] = set()
    for position, row in enumerate(rows):
        key = faq_key(row.question)
        seen.add(key)
        entry = existing.get(key)
        if entry is None:
            report.added += 1
            if not report.dry_run:
                session.add(
                    FaqEntry(
                        topic=row.topic,
                        question=row.question,
                        question_key=key,
                        answer=row.answer,
                        position=position,
                    )
                )
            continue
        fields = (row.topic, row.question, row.answer)
        if (entry.topic, entry.question, entry.answer) != fields:
            report.updated += 1
        else:
            report.unchanged += 1
        if not report.dry_run:
            entry.topic, entry.question, entry.answer = fields
            entry.position = position
    gone = [entry for key, entry in existing.items() if key not in seen]
    report.removed = len(gone)
    if not report.dry_run:
        for entry in gone:
            await session.delete(entry)
        await session.flush()


async def add_entry(
    session: AsyncSession, topic: str, question: str, answer: str
) -> FaqEntry | None:
    """A new entry at the end of its topic's (None: the FAQ has this question already)."""
    async with unit_of_work(session):
        key = faq_key(question)
        if await session.scalar(select(FaqEntry.id).where(FaqEntry.question_key == key)):
            return None
        last = await session.scalar(select(func.max(FaqEntry.position)))
        entry = FaqEntry(
            topic=topic,
            question=question,
            question_key=key,
            answer=answer,
            position=(last or 0) + 1,
        )
        session.add(entry)
        await session.flush()
    return entry


async def set_answer(session: AsyncSession, entry_id: int, answer: str) -> FaqEntry | None:
    """The entry with its new answer (None when it is gone)."""
    async with unit_of_work(session):
        entry = await session.get(FaqEntry, entry_id)
        if entry is not None:
            entry.answer = answer
            await session.flush()
    return entry


async def delete_entry(session: AsyncSession, entry_id: int) -> bool:
    async with unit_of_work(session):
        result = await session.execute(delete(FaqEntry).where(FaqEntry.id == entry_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def all_entries(session: AsyncSession) -> list[FaqEntry]:
    return list(await session.scalars(select(FaqEntry).order_by(FaqEntry.position, FaqEntry.id)))


async def faq_csv(session: AsyncSession) -> bytes:
    """The FAQ as a file an import reads back to the same FAQ, with the header language of
    the last one imported (English before any)."""
    language = await recall(session, FAQ_HEADER_LANGUAGE)
    header = HEADERS.get(language or "en", HEADERS["en"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([header[column] for column in FAQ_COLUMNS])
    for entry in await all_entries(session):
        writer.writerow((guard(entry.question), guard(entry.answer), guard(entry.topic)))
    return buffer.getvalue().encode("utf-8-sig")


@dataclass(frozen=True)
class Topic:
    """A topic as shoppers see it: its name and the entry that opens it (its first)."""

    name: str
    first_id: int


async def topics(session: AsyncSession) -> list[Topic]:
    """The topics in the order of their first entries."""
    found: dict[str, Topic] = {}
    for entry in await all_entries(session):
        found.setdefault(entry.topic, Topic(entry.topic, entry.id))
    return list(found.values())


async def entries_of_topic(session: AsyncSession, first_id: int) -> tuple[str, list[FaqEntry]]:
    """The topic of entry ``first_id`` and its entries ("" and none when it is gone)."""
    entry = await session.get(FaqEntry, first_id)
    if entry is None:
        return "", []
    entries = await session.scalars(
        select(FaqEntry)
        .where(FaqEntry.topic == entry.topic)
        .order_by(FaqEntry.position, FaqEntry.id)
    )
    return entry.topic, list(entries)


def _content(text: str) -> list[frozenset[str]]:
    """The lemma keys of each meaningful word of ``text``."""
    return [keys(word) for word in words(text) if not is_stop_word(word) and len(word) > 1]


@dataclass
class FaqMatch:
    """What a typed text matches: one entry confidently, or some entries more loosely."""

    confident: FaqEntry | None = None
    close: list[FaqEntry] = field(default_factory=list)


async def match_question(
    session: AsyncSession,
    text: str,
    *,
    most: int = 3,
    meaning: MeaningIndex | None = None,
) -> FaqMatch:
    """The entries whose question shares words (in any of their forms) with ``text``;
    confident when the text has most of an entry's question words. With ``meaning`` (the
    FAQ's vectors, search by meaning on) the entries alike in meaning too: confident at
    :data:`MEANING_CONFIDENT` for a text of two words or more, offered loosely above the
    index's floor; the words' answer alone when the layer fails."""
    typed = _content(text)
    if not typed:
        return FaqMatch()
    entries = await all_entries(session)
    scored = _word_scores(entries, typed)
    ranked: list[Ranked] = []
    if meaning is not None and entries:
        try:
            await meaning.refresh(session, time.monotonic())
            ranked = await meaning.rank(text, {entry.id for entry in entries}, depth=most + 1)
        except Exception as exc:
            logger.warning("FAQ by meaning failed, words only: %r", exc)
    return _decide(entries, scored, ranked, len(typed), most)


def _word_scores(
    entries: list[FaqEntry], typed: list[frozenset[str]]
) -> list[tuple[float, int, FaqEntry]]:
    """Each entry sharing a word with the text: the share of its question's words the text
    has and how many, best first."""
    if not typed:
        return []
    typed_keys = frozenset().union(*typed)
    scored: list[tuple[float, int, FaqEntry]] = []
    for entry in entries:
        wanted = _content(entry.question)
        if not wanted:
            continue
        hits = sum(1 for forms in wanted if forms & typed_keys)
        if hits:
            scored.append((hits / len(wanted), hits, entry))
    scored.sort(key=lambda item: (-item[0], -item[1], item[2].position))
    return scored


def _decide(
    entries: list[FaqEntry],
    scored: list[tuple[float, int, FaqEntry]],
    ranked: list[Ranked],
    typed: int,
    most: int,
) -> FaqMatch:
    """The words' confident entry if any, else the meaning's above its floor (a single word
    is a product or a topic typed, never an answer by meaning); the rest of both rankings,
    fused, as the close ones."""
    result = FaqMatch()
    by_id = {entry.id: entry for entry in entries}
    if scored and scored[0][0] >= CONFIDENT_SHARE and scored[0][1] >= min(2, typed):
        result.confident = scored[0][2]
    elif ranked and ranked[0].similarity >= MEANING_CONFIDENT and typed >= MIN_WORDS_CONFIDENT:
        result.confident = by_id[ranked[0].item_id]
    order = fuse([entry.id for _share, _hits, entry in scored], [r.item_id for r in ranked])
    result.close = [
        by_id[entry_id]
        for entry_id in order
        if result.confident is None or entry_id != result.confident.id
    ][:most]
    return result
