"""Reading a catalogue CSV: bytes to text, the header, and every row checked field by field.

Line numbers are physical 1-based file lines where a record starts (the header is line 1),
so a quoted description spanning three lines moves the next record three lines down.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from shopbot.i18n import N_, Text
from shopbot.importer.base import SHOP_ZONE, ImportProblem, ProblemList
from shopbot.importer.columns import COLUMNS, Column, KnownColumns, column_of
from shopbot.models import sku_key
from shopbot.money import MoneyError, parse_price
from shopbot.services.text import unguard

REQUIRED = ("sku", "name", "price")
_SALE_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2}))?")
# Written by /export and read together (see shopbot.importer.apply): what was for sale then,
# and the last stock change the export had seen.
EXPORT_COLUMNS = ("exported_stock", "export_id")
DELIMITERS = (",", ";", "\t")
# A catalogue has ten columns; a header of 1.5 million took 1.23 GB. Counted on the raw
# line, before the csv module makes a string of each.
MAX_COLUMNS = 100
IMAGE_SEPARATOR = "|"

# Column sizes in the schema: a longer value would fail on PostgreSQL (SQLite ignores them).
MAX_SKU = 64
MAX_NAME = 256
MAX_KEYWORDS = 512
MAX_CATEGORY_NAME = 128
MAX_CATEGORY_PATH = 512
MAX_IMAGE_SOURCE = 1024
MAX_STOCK = 2**31 - 1
MAX_POSITION = 999_999_999
# A photo's caption holds 1024 characters (UTF-16 units, after entity parsing), the card's
# own lines (price, availability: this many at most, in either language) included; a name
# and description longer than the rest show their start, and "More" the whole text.
CAPTION_LIMIT = 1024
CARD_LINES = 64
CAPTION_ROOM = CAPTION_LIMIT - CARD_LINES
LISTED_LINES = 10  # the lines a warning names
MAX_PRICE = 2**63 - 1
MAX_OPTION = 64
NO_PRICE = -1  # a variant's empty price cell: its parent's price

TRUE_WORDS = frozenset({"1", "true", "yes", "да"})
FALSE_WORDS = frozenset({"0", "false", "no", "нет"})

_STOCK = re.compile(r"[+-]?\d+")
_DIGIT_GROUPS = re.compile(r"[\s\u00a0\u202f']")
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@dataclass(slots=True)
class Row:
    """A data row with every field read; values of bad fields are placeholders."""

    line: int
    sku: str
    name: str
    price: int
    stock: int
    category: str  # normalised "A / B"; "" for none
    description: str
    images: list[str]  # references as written; empty: leave the product's images alone
    active: bool
    position: int | None  # the owner's place for it in lists; None: by name
    keywords: str  # more words the search finds it by ("оверсайз, толстовка")
    exported_stock: int | None  # None: not a row of an export (or the cell is empty)
    export_id: int
    sale_price: int | None = None  # None: not on sale
    sale_until: datetime | None = None  # None: on sale until turned off
    # A variant's parent SKU ("" for a product that is not a variant) and its options;
    # a variant's empty name and price are its parent's (shopbot.importer.variants).
    variant_of: str = ""
    option1: str = ""
    option2: str = ""


@dataclass
class Table:
    """The rows of a file and what is wrong with it."""

    columns: frozenset[str] = frozenset()  # the known columns the header has
    header_language: str = "en"  # "ru" when most of the header's known names are Russian
    rows: list[Row] = field(default_factory=list)
    errors: ProblemList = field(default_factory=ProblemList)
    warnings: list[ImportProblem] = field(default_factory=list)


class NotCsv(Exception):
    """The bytes are not a text file this importer can read."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.render("en"))
        self.text = text


def decode(data: bytes) -> str:
    """Strict UTF-8 (a BOM is dropped), else Windows-1251, which is what Excel in Russia saves."""
    if b"\0" in data:
        if data.startswith(b"PK\x03\x04"):
            raise NotCsv(
                Text(N_("The file is a ZIP archive (an Excel workbook?); save it as CSV."))
            )
        raise NotCsv(Text(N_("The file is binary (it contains NUL bytes), not a CSV text file.")))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise NotCsv(Text(N_("The file is neither UTF-8 nor Windows-1251 text."))) from exc
    sample = text[:8192]
    if len(_CONTROL.findall(sample)) * 100 > len(sample):
        raise NotCsv(Text(N_("The file is full of control characters; it is not a CSV text file.")))
    return text


def sniff_delimiter(first_line: str) -> str:
    """The most frequent of comma, semicolon and tab in the header line (comma on a tie)."""
    return max(DELIMITERS, key=first_line.count)


def read_table(data: bytes, zone: tzinfo = SHOP_ZONE) -> Table:
    """Decode, parse and check every row; the returned table lists every problem found.
    ``zone`` is the shop's clock (``SHOP_TIMEZONE``) a sale's end is written on."""
    table = Table()
    try:
        text = decode(data)
    except NotCsv as exc:
        table.errors.add(ImportProblem(None, None, "not_csv", exc.text))
        return table
    lines = io.StringIO(text, newline="").readlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        table.errors.add(ImportProblem(None, None, "empty_file", Text(N_("The file is empty."))))
        return table
    delimiter = sniff_delimiter(lines[first])
    if lines[first].count(delimiter) >= MAX_COLUMNS:
        table.errors.add(
            ImportProblem(
                first + 1,
                None,
                "too_many_columns",
                Text(
                    N_("The header has {count} columns; a catalogue has at most {most}."),
                    {"count": lines[first].count(delimiter) + 1, "most": MAX_COLUMNS},
                ),
            )
        )
        return table
    records = read_records(lines, first, delimiter, table.errors)
    first_record = next(records, None)
    if first_record is None or table.errors:  # the header itself is badly quoted
        return table
    checker = _RowChecker.from_header(*first_record, delimiter, table, zone)
    if checker is None:
        return table
    table.columns = frozenset(checker.index)
    table.rows = checker.check_all(records)
    if checker.long_descriptions:
        table.warnings.append(_long_descriptions(checker.long_descriptions))
    if not table.rows and not table.errors:
        table.errors.add(
            ImportProblem(
                None, None, "empty_file", Text(N_("The file has a header but no products."))
            )
        )
    return table


def _long_descriptions(lines: list[int]) -> ImportProblem:
    listed = ", ".join(str(line) for line in lines[:LISTED_LINES])
    if len(lines) > LISTED_LINES:
        listed += ", …"
    return ImportProblem(
        None,
        "description",
        "long_description",
        Text(
            N_(
                "Products on lines {lines} have a name and description longer than a photo's "
                "caption holds ({limit} characters with the price): their cards show the "
                "beginning, and the More button the whole text."
            ),
            {"lines": listed, "limit": CAPTION_LIMIT},
        ),
    )


def _utf16_length(text: str) -> int:
    """Characters as Telegram counts them (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def read_records(
    lines: list[str], start: int, delimiter: str, errors: ProblemList
) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) per record from ``lines[start:]``; bad quoting is reported in ``errors``.

    After a bad record the reader starts again on the line after it; each restart and each
    diagnosis costs the length of that record, not of the rest of the file.
    """
    position = start
    while position < len(lines):
        reader = csv.reader(
            (lines[index] for index in range(position, len(lines))),
            delimiter=delimiter,
            strict=True,
            skipinitialspace=True,
        )
        consumed = 0
        try:
            for fields in reader:
                yield position + consumed + 1, fields
                consumed = reader.line_num
            return
        except csv.Error:
            record = position + consumed
            opened, last = _scan_record(lines, record, delimiter)
            if opened is None:
                errors.add(
                    ImportProblem(
                        record + 1,
                        None,
                        "value_too_long",
                        Text(
                            N_(
                                "A value in the record starting here is longer than {most} "
                                "characters."
                            ),
                            {"most": csv.field_size_limit()},
                        ),
                    )
                )
            else:
                errors.add(
                    ImportProblem(
                        opened + 1,
                        None,
                        "bad_quoting",
                        Text(
                            N_(
                                "A quoted value starting on this line is not closed properly "
                                '(a quote inside a value must be doubled: "").'
                            )
                        ),
                    )
                )
            position = last + 1


def _scan_record(lines: list[str], start: int, delimiter: str) -> tuple[int | None, int]:
    """Find why the csv module refused the record starting at ``lines[start]``.

    Returns the index of the line where a badly quoted field opens (None when the quoting
    is fine, i.e. a field was merely too long) and the index of the record's last line.
    Walks the record line by line (each line keeps its line ending), reading no further.
    """
    field_end = re.compile(f"[{re.escape(delimiter)}\r\n]")
    last = len(lines) - 1
    index, pos = start, 0
    while True:
        line = lines[index]
        while pos < len(line) and line[pos] == " ":
            pos += 1
        if pos < len(line) and line[pos] == '"':
            opened = index
            pos += 1
            while True:  # to the closing quote, over as many lines as it takes
                quote = lines[index].find('"', pos)
                if quote < 0:
                    if index == last:
                        return opened, last
                    index, pos = index + 1, 0
                    continue
                if lines[index].startswith('"', quote + 1):
                    pos = quote + 2
                    continue
                pos = quote + 1
                break
            line = lines[index]
            if pos >= len(line):  # the end of the file
                return None, index
            if line[pos] == delimiter:
                pos += 1
                continue
            if line[pos] in "\r\n":
                return None, index
            return opened, index
        match = field_end.search(line, pos)
        if match is None or match.group() != delimiter:
            return None, index
        pos = match.end()


class _RowChecker:
    """Checks data rows against the header's columns, remembering SKUs seen so far.

    Hot path for 100k-row files: each field has a cheap common case (cached prices,
    categories and flags; plain digits for stock), the careful check only on a miss.
    """

    def __init__(
        self,
        index: dict[str, int],
        width: int,
        delimiter: str,
        errors: ProblemList,
        zone: tzinfo = SHOP_ZONE,
    ) -> None:
        self.zone = zone
        self.index = index
        self.width = width
        self.delimiter = delimiter
        self.errors = errors
        self.first_line_of_sku: dict[str, int] = {}
        # Shop files repeat the same prices, categories and flags on many rows: read each once.
        self.prices: dict[str, int] = {}
        self.categories: dict[str, str] = {"": ""}
        self.flags: dict[str, bool] = {"": True}
        self.long_descriptions: list[int] = []  # lines of rows too long for a caption

    @classmethod
    def from_header(
        cls, line: int, header: list[str], delimiter: str, table: Table, zone: tzinfo = SHOP_ZONE
    ) -> _RowChecker | None:
        index: dict[str, int] = {}
        russian = 0
        for position, raw in enumerate(header):
            name = raw.replace("\ufeff", "").strip()
            if not name:
                continue
            column = column_of(name)
            if column is None:
                table.warnings.append(
                    ImportProblem(
                        line,
                        name,
                        "unknown_column",
                        Text(
                            N_(
                                "Column “{name}” is not one the importer knows ({known}); "
                                "it is ignored."
                            ),
                            {"name": name, "known": KnownColumns()},
                        ),
                    )
                )
            elif column in index:
                table.warnings.append(
                    ImportProblem(
                        line,
                        name,
                        "unknown_column",
                        Text(
                            N_("Column “{name}” names “{column}” again; only the first is used."),
                            {"name": name, "column": Column(column)},
                        ),
                    )
                )
            else:
                index[column] = position
                russian += _CYRILLIC.search(name) is not None
        # The language the owner writes headers in: an /export writes it back the same way.
        table.header_language = "ru" if russian * 2 > len(index) else "en"
        missing = [name for name in REQUIRED if name not in index]
        for name in missing:
            table.errors.add(
                ImportProblem(
                    line,
                    name,
                    "missing_column",
                    Text(
                        N_("The header has no “{column}” column."),
                        {"column": Column(name), "key": name},
                    ),
                )
            )
        has_export = [name in index for name in EXPORT_COLUMNS]
        if any(has_export) and not all(has_export):
            name = EXPORT_COLUMNS[has_export.index(False)]
            missing.append(name)
            table.errors.add(
                ImportProblem(
                    line,
                    name,
                    "missing_column",
                    Text(
                        N_(
                            "The header has no “{column}” column. Keep both “{first}” and "
                            "“{second}” of an export as they are, or delete both."
                        ),
                        {
                            "column": Column(name),
                            "key": name,
                            "first": Column(EXPORT_COLUMNS[0]),
                            "second": Column(EXPORT_COLUMNS[1]),
                        },
                    ),
                )
            )
        if "sale_until" in index and "sale_price" not in index:
            missing.append("sale_price")
            table.errors.add(
                ImportProblem(
                    line,
                    "sale_price",
                    "missing_column",
                    Text(
                        N_("The header has “{column}” but no “{price}” column for the sale."),
                        {"column": Column("sale_until"), "price": Column("sale_price")},
                    ),
                )
            )
        return None if missing else cls(index, len(header), delimiter, table.errors, zone)

    def problem(
        self, line: int, column: str | None, code: str, template: str, /, **params: object
    ) -> None:
        self.errors.add(ImportProblem(line, column, code, Text(template, params)))

    def check_all(self, records: Iterable[tuple[int, list[str]]]) -> list[Row]:
        """One tight loop (locals, no per-field calls) over every record but blank ones."""
        width = self.width
        # Absent columns read an empty cell appended to every record.
        (
            sku_at,
            name_at,
            price_at,
            stock_at,
            category_at,
            description_at,
            image_at,
            active_at,
            position_at,
            keywords_at,
            exported_at,
            export_id_at,
            sale_price_at,
            sale_until_at,
            variant_of_at,
            option1_at,
            option2_at,
        ) = (self.index.get(column, -1) for column in COLUMNS)
        first_line_of_sku = self.first_line_of_sku
        prices, categories, flags = self.prices, self.categories, self.flags
        rows: list[Row] = []
        for line, fields in records:
            if not any(fields):  # blank lines and rows of empty cells (spreadsheets leave them)
                continue
            if len(fields) < width:
                fields.extend([""] * (width - len(fields)))
            elif len(fields) > width and any(fields[width:]):
                self.too_many(line, len(fields))
            fields.append("")
            sku = fields[sku_at].strip()
            if sku[:1] == "'":  # guarded by /export against spreadsheet formulas
                sku = unguard(sku)
            if not sku or len(sku) > MAX_SKU:
                self.bad_text(line, "sku", sku, MAX_SKU)
            elif first_line_of_sku.setdefault(key := sku_key(sku), line) != line:
                self.problem(
                    line,
                    "sku",
                    "duplicate_sku",
                    N_("SKU “{sku}” already appears on line {first}."),
                    sku=sku,
                    first=str(first_line_of_sku[key]),
                )
            variant_of = fields[variant_of_at].strip()
            if variant_of:
                variant_of, option1, option2 = self.variant(
                    line, sku, variant_of, fields[option1_at], fields[option2_at]
                )
            else:
                option1 = option2 = ""
                if fields[option1_at].strip() or fields[option2_at].strip():
                    self.options_without_parent(line)
            name = fields[name_at].strip()
            if name[:1] == "'":
                name = unguard(name)
            if (not name and not variant_of) or len(name) > MAX_NAME:
                self.bad_text(line, "name", name, MAX_NAME)
            raw = fields[price_at].strip()
            price = prices.get(raw)
            if price is None:
                price = NO_PRICE if variant_of and not raw else self.price(raw, line)
            raw = fields[stock_at].strip()
            if raw.isdigit() and raw.isascii() and len(raw) < 10:
                stock = int(raw)
            else:
                stock = self.stock(raw, line)
            raw = fields[category_at].strip()
            if raw[:1] == "'":
                raw = unguard(raw)
            category = categories.get(raw)
            if category is None:
                category = self.category(raw, line)
            raw = fields[active_at].strip()
            active = flags.get(raw)
            if active is None:
                active = self.active(raw, line)
            description = fields[description_at].strip()
            if description[:1] == "'":
                description = unguard(description)
            if "\r" in description:
                description = description.replace("\r\n", "\n").replace("\r", "\n")
            if len(name) + len(description) > CAPTION_ROOM // 2 and (
                _utf16_length(name) + _utf16_length(description) > CAPTION_ROOM
            ):
                self.long_descriptions.append(line)
            raw = fields[image_at].strip()
            images = self.images(raw, line) if raw else []
            raw = fields[position_at].strip()
            position = self.position(raw, line) if raw else None
            keywords = _SPACES.sub(" ", fields[keywords_at]).strip()
            if keywords[:1] == "'":
                keywords = unguard(keywords)
            if len(keywords) > MAX_KEYWORDS:
                self.too_long(line, "keywords", keywords, MAX_KEYWORDS)
            exported, export_id = None, 0
            if exported_at >= 0:
                exported, export_id = self.export_mark(
                    fields[exported_at].strip(), fields[export_id_at].strip(), line
                )
            sale_price = sale_until = None
            if sale_price_at >= 0 and (fields[sale_price_at] or fields[sale_until_at]):
                sale_price, sale_until = self.sale(
                    fields[sale_price_at].strip(), fields[sale_until_at].strip(), price, line
                )
            rows.append(
                Row(
                    line,
                    sku,
                    name,
                    price,
                    stock,
                    category,
                    description,
                    images,
                    active,
                    position,
                    keywords,
                    exported,
                    export_id,
                    sale_price,
                    sale_until,
                    variant_of,
                    option1,
                    option2,
                )
            )
        return rows

    def sale(
        self, raw_price: str, raw_until: str, price: int, line: int
    ) -> tuple[int | None, datetime | None]:
        """A sale price below the price, and its end: a day (through that day on the shop's
        clock) or a day and time; both empty: no sale."""
        if not raw_price:
            if raw_until:
                self.problem(
                    line,
                    "sale_price",
                    "missing_value",
                    N_("The sale ends “{until}” but has no {column}."),
                    until=raw_until,
                    column=Column("sale_price"),
                )
            return None, None
        try:
            sale_price = parse_price(raw_price)
        except MoneyError:
            self.problem(
                line,
                "sale_price",
                "bad_price",
                N_(
                    "The sale price “{value}” is not a price; write it like 999, 999.00, "
                    "999,00 or 999 ₽."
                ),
                value=raw_price,
            )
            return None, None
        if sale_price >= price:
            self.problem(
                line,
                "sale_price",
                "sale_not_lower",
                N_("The sale price “{value}” is not below the price."),
                value=raw_price,
            )
            return None, None
        if sale_price <= 0:
            self.problem(
                line,
                "sale_price",
                "sale_free",
                N_("The sale price “{value}” is nothing: a payment of 0 ₽ cannot be taken."),
                value=raw_price,
            )
            return None, None
        if not raw_until:
            return sale_price, None
        until = sale_end(raw_until, self.zone)
        if until is None:
            self.problem(
                line,
                "sale_until",
                "bad_sale_until",
                N_("The sale's end “{value}” is not a date like 31.12.2026 or 31.12.2026 18:00."),
                value=raw_until,
            )
        return sale_price, until

    def variant(
        self, line: int, sku: str, parent: str, option1: str, option2: str
    ) -> tuple[str, str, str]:
        """A variant row's parent SKU and options, checked: a parent that is not the row
        itself, at least one option, each short enough."""
        if parent[:1] == "'":
            parent = unguard(parent)
        options = []
        for column, raw in (("option1", option1), ("option2", option2)):
            value = _SPACES.sub(" ", raw).strip()
            if value[:1] == "'":
                value = unguard(value)
            if len(value) > MAX_OPTION:
                self.too_long(line, column, value, MAX_OPTION)
            options.append(value)
        if len(parent) > MAX_SKU:
            self.too_long(line, "variant_of", parent, MAX_SKU)
        elif sku_key(parent) == sku_key(sku):
            self.problem(
                line,
                "variant_of",
                "bad_variant",
                N_("The product cannot be a variant of itself (“{sku}”)."),
                sku=parent,
            )
        if not any(options):
            self.problem(
                line,
                "option1",
                "bad_variant",
                N_("A variant needs its choice in “{first}” or “{second}” (a size, a colour)."),
                first=Column("option1"),
                second=Column("option2"),
            )
        return parent, options[0], options[1]

    def options_without_parent(self, line: int) -> None:
        self.problem(
            line,
            "variant_of",
            "bad_variant",
            N_(
                "The row has options but no “{column}”: write the SKU of the product it is a "
                "variant of, or empty the options."
            ),
            column=Column("variant_of"),
        )

    def too_many(self, line: int, count: int) -> None:
        """Most often a decimal comma or a delimiter in an unquoted value: the data has
        shifted into the wrong columns, so it must not be imported."""
        self.problem(
            line,
            None,
            "too_many_values",
            N_(
                "The row has {count} values but the header only {width} columns; "
                "a value containing “{delimiter}” must be in double quotes."
            ),
            count=count,
            width=self.width,
            delimiter=self.delimiter.replace("\t", "\\t"),
        )

    def bad_text(self, line: int, column: str, value: str, limit: int) -> None:
        if value:
            self.too_long(line, column, value, limit)
        else:
            self.missing(line, column)

    def missing(self, line: int, column: str) -> None:
        self.problem(
            line,
            column,
            "missing_value",
            N_("Column “{column}” is empty; every product needs one."),
            column=Column(column),
        )

    def too_long(self, line: int, column: str, value: str, limit: int) -> None:
        self.problem(
            line,
            column,
            "value_too_long",
            N_("The {column} starting “{start}” is {length} characters long; at most {most} fit."),
            column=Column(column),
            start=value[:40],
            length=len(value),
            most=limit,
        )

    def price(self, raw: str, line: int) -> int:
        if not raw:
            self.missing(line, "price")
            return 0
        try:
            kopecks = parse_price(raw)
        except MoneyError:
            kopecks = MAX_PRICE + 1
        if kopecks > MAX_PRICE:
            self.problem(
                line,
                "price",
                "bad_price",
                N_(
                    "The price “{value}” is not a price; write it like 1299, 1299.00, "
                    "1 299,00 or 1299 ₽."
                ),
                value=raw,
            )
            return 0
        self.prices[raw] = kopecks
        return kopecks

    def stock(self, raw: str, line: int, column: str = "stock") -> int:
        if not raw:
            return 0
        cleaned = _DIGIT_GROUPS.sub("", raw)
        if not _STOCK.fullmatch(cleaned):
            self.problem(
                line,
                column,
                "bad_stock",
                N_("The {column} “{value}” is not a whole number."),
                column=Column(column),
                value=raw,
            )
            return 0
        value = int(cleaned)
        if value < 0:
            self.problem(
                line,
                column,
                "negative_stock",
                N_("The {column} “{value}” is negative; 0 is the least."),
                column=Column(column),
                value=raw,
            )
            return 0
        if value > MAX_STOCK:
            self.problem(
                line,
                column,
                "bad_stock",
                N_("The {column} “{value}” is too large."),
                column=Column(column),
                value=raw,
            )
            return 0
        return value

    def position(self, raw: str, line: int) -> int | None:
        """A place in the shop's lists, smallest first (an empty cell: by name)."""
        if raw.isascii() and raw.isdigit() and int(raw) <= MAX_POSITION:
            return int(raw)
        self.problem(
            line,
            "position",
            "bad_position",
            N_(
                "The position “{value}” is not a whole number from 0 to {most}; leave it "
                "empty to list the product by name."
            ),
            value=raw,
            most=MAX_POSITION,
        )
        return None

    def export_mark(self, exported: str, export_id: str, line: int) -> tuple[int | None, int]:
        """``exported_stock`` and ``export_id`` of a row: both empty (a row the owner added
        to the export), or both whole numbers as /export wrote them."""
        if not exported and not export_id:
            return None, 0
        if not exported or not export_id:
            empty = "exported_stock" if not exported else "export_id"
            self.problem(
                line,
                empty,
                "missing_value",
                N_(
                    "Column “{column}” is empty but the other column of the export is not; "
                    "leave both as the export wrote them, or empty both."
                ),
                column=Column(empty),
            )
            return None, 0
        return self.stock(exported, line, "exported_stock"), self.stock(
            export_id, line, "export_id"
        )

    def category(self, raw: str, line: int) -> str:
        names = [_SPACES.sub(" ", name).strip() for name in raw.split("/")]
        path = " / ".join(name for name in names if name)
        if len(path) > MAX_CATEGORY_PATH:
            self.too_long(line, "category", path, MAX_CATEGORY_PATH)
        elif any(len(name) > MAX_CATEGORY_NAME for name in names):
            self.too_long(line, "category", path, MAX_CATEGORY_NAME)
        else:
            self.categories[raw] = path
        return path

    def images(self, raw: str, line: int) -> list[str]:
        references = [part.strip() for part in raw.split(IMAGE_SEPARATOR)]
        references = [reference for reference in references if reference]
        for reference in references:
            if len(reference) > MAX_IMAGE_SOURCE:
                self.too_long(line, "image", reference, MAX_IMAGE_SOURCE)
        return references

    def active(self, raw: str, line: int) -> bool:
        word = raw.lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            self.flags[raw] = word in TRUE_WORDS
            return word in TRUE_WORDS
        self.problem(
            line,
            "active",
            "bad_active",
            N_("The {column} value “{value}” is not one of 1/0, true/false, yes/no, да/нет."),
            column=Column("active"),
            value=raw,
        )
        return False


def sale_end(text: str, zone: tzinfo) -> datetime | None:
    """``31.12.2026`` (the end of that day: the next midnight on ``zone``'s clock) or
    ``31.12.2026 18:00``, as an aware moment; None if it is neither."""
    found = _SALE_DAY.fullmatch(text.strip())
    if found is None:
        return None
    day, month, year, hour, minute = found.groups()
    try:
        moment = date(int(year), int(month), int(day))
        if hour is None:
            return datetime.combine(moment + timedelta(days=1), time(), zone)
        return datetime.combine(moment, time(int(hour), int(minute)), zone)
    except ValueError:
        return None


def sale_end_text(moment: datetime, zone: tzinfo) -> str:
    """What :func:`sale_end` reads back as ``moment``: the day alone for a midnight."""
    local = moment.astimezone(zone)
    if local.time() == time():
        return f"{local.date() - timedelta(days=1):%d.%m.%Y}"
    return f"{local:%d.%m.%Y %H:%M}"
