"""What an import takes (options) and gives back (a report of counts and problems).

A problem is structured: where (line, column), what kind (``code``), and a :class:`Text`
(an English msgid of the core catalogue with its values) that the bot and the command
line render in their reader's language; ``message`` is the English one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from shopbot.i18n import N_, Text
from shopbot.importer.changes import ProductChange
from shopbot.importer.columns import Column

MB = 1024 * 1024
SHOP_ZONE = ZoneInfo("Europe/Moscow")  # SHOP_TIMEZONE's default
MAX_LISTED_PROBLEMS = 1000


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong (or worth a warning) in the file: where, what kind, and a sentence."""

    line: int | None
    column: str | None  # the column's key ("price"), whatever the header calls it
    code: str
    text: Text

    @property
    def message(self) -> str:
        return self.text.render("en")

    def describe(self, language: str) -> str:
        """The sentence after where it is: "line 3, price: …" ("строка 3, Цена: …")."""
        message = self.text.render(language)
        if self.line is not None and self.column:
            where = N_("line {line}, {column}: {message}")
        elif self.line is not None:
            where = N_("line {line}: {message}")
        elif self.column:
            where = N_("{column}: {message}")
        else:
            return message
        column = Column(self.column) if self.column else None
        return Text(where, {"line": str(self.line), "column": column, "message": message}).render(
            language
        )


class ProblemList(list[ImportProblem]):
    """Problems in the order found, the first ``MAX_LISTED_PROBLEMS`` of them kept and the
    rest only counted: a 5 MB file of bad rows gave 460,000 sentences (hundreds of MB in
    the bot, a 36 MB list Telegram refused to take)."""

    def __init__(self, problems: Iterable[ImportProblem] = ()) -> None:
        super().__init__()
        self.unlisted = 0
        for problem in problems:
            self.add(problem)

    def add(self, problem: ImportProblem) -> None:
        if len(self) < MAX_LISTED_PROBLEMS:
            self.append(problem)
        else:
            self.unlisted += 1

    @property
    def total(self) -> int:
        return len(self) + self.unlisted


@dataclass
class ImportReport:
    """Counts are what was written, or with ``dry_run`` what would have been.

    ``images_processed``: distinct pictures (files or URLs) read and normalised;
    ``images_reused``: those of them already stored (by an earlier import, or an identical
    picture earlier in this file), so no new file was needed.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    images_processed: int = 0
    images_reused: int = 0
    errors: ProblemList = field(default_factory=ProblemList)
    warnings: list[ImportProblem] = field(default_factory=list)
    dry_run: bool = False
    rows: int = 0
    header_language: str = "en"  # the language of the file's header words ("ru", "en")
    # A dry run's changes: new products in the file's order, then changed ones by SKU.
    changes: list[ProductChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.errors, ProblemList):  # a plain list given to the constructor
            self.errors = ProblemList(self.errors)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ImportOptions:
    media_dir: Path
    # Folder that image paths in the file are relative to; import_file uses the CSV's folder.
    base_dir: Path | None = None
    dry_run: bool = False
    deactivate_missing: bool = False
    allow_urls: bool = True
    # URLs into this machine or a private network (and user:password@): IMPORT_ALLOW_PRIVATE_URLS
    allow_private_urls: bool = False
    max_image_bytes: int = 20 * MB
    max_file_bytes: int = 20 * MB
    url_timeout: float = 10.0
    actor: str = "import"
    # The shop's clock (SHOP_TIMEZONE): a sale_until of "31.12.2026" ends at its midnight.
    zone: tzinfo = SHOP_ZONE
