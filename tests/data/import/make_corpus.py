"""Write the CSV importer's test corpus: ``good/``, ``bad/`` and their ``expected.json``.

The files are committed; this script is how they were made, so they can be remade or
extended without hand-editing byte-level details (BOMs, CRLF, Windows-1251, binary junk).
Nothing is downloaded. Run from anywhere:

    .venv/bin/python tests/data/import/make_corpus.py

Expected values for the good files are written out by hand below (they are the oracle, not
derived from the CSV text); for the bad files the script only counts physical lines to find
the line where each marked bad row starts.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
GOOD = HERE / "good"
BAD = HERE / "bad"

HEADER = "sku,name,price,stock,category,description,image,active"


@dataclass(frozen=True)
class Product:
    """A product as the importer should have stored it."""

    sku: str
    name: str
    price_kopecks: int
    stock: int
    category: str | None
    active: bool
    image_count: int
    description: str


@dataclass(frozen=True)
class ColumnWarning:
    column: str
    code: str


@dataclass(frozen=True)
class GoodFile:
    name: str
    rows: list[str]  # the header first; a row may contain "\n" inside a quoted field
    products: list[Product]
    warnings: list[ColumnWarning] = field(default_factory=list)
    encoding: str = "utf-8"
    bom: bool = False
    crlf: bool = False
    final_newline: bool = True


@dataclass(frozen=True)
class Error:
    line: int | None
    column: str | None
    code: str


@dataclass(frozen=True)
class Bad:
    """A row that must be rejected: the error's line is where the row starts."""

    text: str
    column: str | None
    code: str


@dataclass(frozen=True)
class BadFile:
    name: str
    rows: list[str | Bad]
    file_errors: list[Error] = field(default_factory=list)  # errors not tied to a marked row

    def text(self) -> str:
        return "".join(f"{row.text if isinstance(row, Bad) else row}\n" for row in self.rows)

    def errors(self) -> list[Error]:
        found = list(self.file_errors)
        line = 1
        for row in self.rows:
            text = row.text if isinstance(row, Bad) else row
            if isinstance(row, Bad):
                found.append(Error(line, row.column, row.code))
            line += text.count("\n") + 1
        return found


# ---------------------------------------------------------------------------- good files

GOOD_FILES: list[GoodFile] = [
    GoodFile(
        name="utf8_comma.csv",
        rows=[
            HEADER,
            "UC-001,Футболка «Волна»,1299,10,Одежда / Футболки,"
            '"Хлопок 100%, плотность 180 г/м².",images/tshirt.jpg,1',
            '"UC-002","Кружка «Утро», 330 мл",590.00,0,Посуда / Кружки,'
            "Белая керамика. Можно мыть в посудомоечной машине.,images/mug.jpg,true",
            'UC-003,Шоппер «Лавка»,1299 ₽,5,Сумки,"Саржа, длинные ручки.",'
            "images/bag.jpg|images/tshirt.jpg,yes",
            "UC-004,Набор «Кофе & чай» <подарочный>,1299 руб.,3,"
            "Подарочные наборы / К праздникам / Новый год,"
            '"Кофе 250 г & чай 50 г. Для тех, кто пьёт < 3 чашек в день.",,0',
            'UC-005,Стикерпак «Коты»,"1 299,00",,,,,',
        ],
        products=[
            Product(
                "UC-001", "Футболка «Волна»", 129900, 10, "Одежда / Футболки", True, 1,
                "Хлопок 100%, плотность 180 г/м².",
            ),
            Product(
                "UC-002", "Кружка «Утро», 330 мл", 59000, 0, "Посуда / Кружки", True, 1,
                "Белая керамика. Можно мыть в посудомоечной машине.",
            ),
            Product(
                "UC-003", "Шоппер «Лавка»", 129900, 5, "Сумки", True, 2,
                "Саржа, длинные ручки.",
            ),
            Product(
                "UC-004", "Набор «Кофе & чай» <подарочный>", 129900, 3,
                "Подарочные наборы / К праздникам / Новый год", False, 0,
                "Кофе 250 г & чай 50 г. Для тех, кто пьёт < 3 чашек в день.",
            ),
            Product("UC-005", "Стикерпак «Коты»", 129900, 0, None, True, 0, ""),
        ],
    ),
    GoodFile(
        name="utf8_bom_semicolon.csv",
        bom=True,
        crlf=True,
        rows=[
            HEADER.replace(",", ";"),
            "BS-001;Худи «Графит»;3 490,00;8;Одежда / Худи;"
            "Футер с начёсом, капюшон на подкладке.;images/tshirt.jpg;да",
            'BS-002;Блокнот «Крафт», А5;450,00;60;Канцелярия / Блокноты;'
            '"Обложка ""крафт"", 96 листов в точку.";;да',
            'BS-003;Термокружка, 450 мл;1 390,50;0;Посуда / Термокружки;'
            '"Держит тепло 6 часов.\nКрышка не протекает.";images/mug.jpg;нет',
            "BS-004;Постер «Байкал», А2;1 990;5;Декор / Постеры;"
            "Печать на хлопковой бумаге.;;1",
        ],
        products=[
            Product(
                "BS-001", "Худи «Графит»", 349000, 8, "Одежда / Худи", True, 1,
                "Футер с начёсом, капюшон на подкладке.",
            ),
            Product(
                "BS-002", "Блокнот «Крафт», А5", 45000, 60, "Канцелярия / Блокноты", True, 0,
                'Обложка "крафт", 96 листов в точку.',
            ),
            Product(
                "BS-003", "Термокружка, 450 мл", 139050, 0, "Посуда / Термокружки", False, 1,
                "Держит тепло 6 часов.\nКрышка не протекает.",
            ),
            Product(
                "BS-004", "Постер «Байкал», А2", 199000, 5, "Декор / Постеры", True, 0,
                "Печать на хлопковой бумаге.",
            ),
        ],
    ),
    GoodFile(
        name="cp1251_semicolon.csv",
        encoding="cp1251",
        crlf=True,
        rows=[
            HEADER.replace(",", ";"),
            "CP-001;Значок «Ёжик в тумане»;290 руб.;50;Аксессуары / Значки;"
            "Мягкая эмаль, 30 мм — две застёжки.;images/bag.jpg;да",
            "CP-002;Открытки «Города России» №1;490;35;Канцелярия / Открытки;"
            "Набор из 12 открыток.;;да",
            "CP-003;Шапка «Ушанка-лайт»;1 290,00;15;Одежда / Головные уборы;"
            '"Шерсть с акрилом; не колется.";;нет',
            "CP-004;Свитшот «Берёзы»;2 990,00;4;Одежда / Худи;"
            "Трёхнитка, вышивка берёзовой рощи.;images/tshirt.jpg;1",
        ],
        products=[
            Product(
                "CP-001", "Значок «Ёжик в тумане»", 29000, 50, "Аксессуары / Значки", True, 1,
                "Мягкая эмаль, 30 мм — две застёжки.",
            ),
            Product(
                "CP-002", "Открытки «Города России» №1", 49000, 35, "Канцелярия / Открытки",
                True, 0, "Набор из 12 открыток.",
            ),
            Product(
                "CP-003", "Шапка «Ушанка-лайт»", 129000, 15, "Одежда / Головные уборы", False,
                0, "Шерсть с акрилом; не колется.",
            ),
            Product(
                "CP-004", "Свитшот «Берёзы»", 299000, 4, "Одежда / Худи", True, 1,
                "Трёхнитка, вышивка берёзовой рощи.",
            ),
        ],
    ),
    GoodFile(
        name="tab.tsv",
        rows=[
            "SKU\tName\tPRICE\tStock\tCategory\tDescription\tImage\tActive",
            "TB-001\tФутболка «Кот-астроном»\t1290.5\t7\tОдежда / Футболки\t"
            "Кот смотрит в телескоп, хлопок 100%.\timages/tshirt.jpg\ttrue",
            "TB-002\tКружка эмалированная\t790\t18\tПосуда / Кружки\t"
            "Выдерживает костёр, как на даче.\timages/mug.jpg\tyes",
            "TB-003\tШоппер «Сирень»\t1090 ₽\t0\tСумки и аксессуары / Шопперы\t"
            "Карман на молнии, длинные ручки.\timages/bag.jpg|images/mug.jpg\tfalse",
            "TB-004\tПостер «Схема метро», А3\t990,00\t14\tДекор / Постеры\t"
            "Матовая бумага, 200 г/м².\t\tno",
        ],
        products=[
            Product(
                "TB-001", "Футболка «Кот-астроном»", 129050, 7, "Одежда / Футболки", True, 1,
                "Кот смотрит в телескоп, хлопок 100%.",
            ),
            Product(
                "TB-002", "Кружка эмалированная", 79000, 18, "Посуда / Кружки", True, 1,
                "Выдерживает костёр, как на даче.",
            ),
            Product(
                "TB-003", "Шоппер «Сирень»", 109000, 0, "Сумки и аксессуары / Шопперы", False,
                2, "Карман на молнии, длинные ручки.",
            ),
            Product(
                "TB-004", "Постер «Схема метро», А3", 99000, 14, "Декор / Постеры", False, 0,
                "Матовая бумага, 200 г/м².",
            ),
        ],
    ),
    GoodFile(
        name="unknown_column.csv",
        final_newline=False,
        rows=[
            "sku,name,color,price,stock",
            "UK-001,Футболка базовая чёрная,чёрный,990,20",
            "UK-002,Футболка базовая белая,белый,990,0",
            'UK-003,Футболка базовая серая,"серый меланж, с начёсом",1090,5',
        ],
        products=[
            Product("UK-001", "Футболка базовая чёрная", 99000, 20, None, True, 0, ""),
            Product("UK-002", "Футболка базовая белая", 99000, 0, None, True, 0, ""),
            Product("UK-003", "Футболка базовая серая", 109000, 5, None, True, 0, ""),
        ],
        warnings=[ColumnWarning("color", "unknown_column")],
    ),
    GoodFile(
        name="url_image.csv",
        rows=[
            "sku,name,price,stock,image",
            "URL-001,Кружка «Утро»,590,4,https://example.com/shop/mug-morning.jpg",
            "URL-002,Футболка «Волна»,1299,2,images/tshirt.jpg|http://example.com/shop/back.jpg",
        ],
        products=[
            Product("URL-001", "Кружка «Утро»", 59000, 4, None, True, 1, ""),
            Product("URL-002", "Футболка «Волна»", 129900, 2, None, True, 2, ""),
        ],
    ),
]  # fmt: skip


# ---------------------------------------------------------------------------- bad files

OK_A = "BD-001,Футболка «Волна»,1299,10,Одежда / Футболки,Хлопок 100%.,images/ok.jpg,1"
OK_B = 'BD-002,"Кружка «Утро», 330 мл",590.00,5,Посуда / Кружки,Белая керамика.,,1'
OK_MULTILINE = (
    'BD-003,Блокнот «Крафт»,450,60,Канцелярия,"96 листов в точку.\nОбложка — картон.",,да'
)
OK_LAST = "BD-009,Значок «Ёжик»,290,50,Аксессуары / Значки,Мягкая эмаль.,images/ok.jpg,1"


def bad_row(sku: str, column: str, value: str, code: str) -> Bad:
    """A copy of a valid row with one column replaced, marked as the row to be rejected."""
    values = {
        "sku": sku,
        "name": "Шоппер «Лавка»",
        "price": "890",
        "stock": "30",
        "category": "Сумки и аксессуары / Шопперы",
        "description": "Плотная саржа.",
        "image": "images/ok.jpg",
        "active": "1",
    }
    values[column] = value
    cells = [f'"{v}"' if "," in v else v for v in values.values()]
    return Bad(",".join(cells), column, code)


def single(name: str, bad: Bad) -> BadFile:
    """A file with a valid row, a valid two-line row, the bad row, and a valid last row.

    The two-line row makes the physical line of the bad row (5) differ from its record
    number (4), so an importer that counts records instead of lines is caught.
    """
    return BadFile(name, [HEADER, OK_A, OK_MULTILINE, bad, OK_LAST])


BAD_FILES: list[BadFile] = [
    single("bad_price_text.csv", bad_row("BD-004", "price", "abc", "bad_price")),
    single("bad_price_negative.csv", bad_row("BD-004", "price", "-5", "bad_price")),
    single("bad_price_precision.csv", bad_row("BD-004", "price", "12.345", "bad_price")),
    single("negative_stock.csv", bad_row("BD-004", "stock", "-3", "negative_stock")),
    single("bad_stock_text.csv", bad_row("BD-004", "stock", "много", "bad_stock")),
    single("bad_stock_fraction.csv", bad_row("BD-004", "stock", "2.5", "bad_stock")),
    single("missing_sku.csv", bad_row("BD-004", "sku", "", "missing_value")),
    single("missing_name.csv", bad_row("BD-004", "name", "", "missing_value")),
    single("missing_name_spaces.csv", bad_row("BD-004", "name", '"   "', "missing_value")),
    single("missing_price.csv", bad_row("BD-004", "price", "", "missing_value")),
    single("duplicate_sku.csv", bad_row("BD-001", "sku", "BD-001", "duplicate_sku")),
    single(
        "missing_image.csv",
        bad_row("BD-004", "image", "images/ok.jpg|images/no_such_photo.jpg", "missing_image"),
    ),
    single(
        "image_outside_relative.csv",
        bad_row("BD-004", "image", "../secret.jpg", "image_outside_folder"),
    ),
    single(
        "image_outside_absolute.csv",
        bad_row("BD-004", "image", "/etc/passwd", "image_outside_folder"),
    ),
    single(
        "image_outside_sneaky.csv",
        bad_row("BD-004", "image", "images/../../good/images/tshirt.jpg", "image_outside_folder"),
    ),
    single("bad_image.csv", bad_row("BD-004", "image", "images/not_an_image.jpg", "bad_image")),
    single("bad_active.csv", bad_row("BD-004", "active", "может быть", "bad_active")),
    BadFile(
        "bad_quoting.csv",
        [
            HEADER,
            OK_A,
            OK_MULTILINE,
            Bad(
                'BD-004,"Кружка «Утро», 330 мл,590,5,Посуда / Кружки,Белая керамика.,,1',
                None,
                "bad_quoting",
            ),
            OK_LAST,
            "BD-010,Постер «Байкал»,1990,5,Декор / Постеры,Печать на хлопковой бумаге.,,1",
        ],
    ),
    BadFile("header_only.csv", [HEADER], [Error(None, None, "empty_file")]),
    BadFile(
        "missing_column.csv",
        [
            "sku,name,stock,category,description,image,active",
            "BD-001,Футболка «Волна»,10,Одежда / Футболки,Хлопок 100%.,images/ok.jpg,1",
            "BD-002,Значок «Ёжик»,50,Аксессуары / Значки,Мягкая эмаль.,,1",
        ],
        [Error(1, "price", "missing_column")],
    ),
    BadFile(
        "many_errors.csv",
        [
            HEADER,
            OK_A,
            bad_row("BD-004", "price", "abc", "bad_price"),
            OK_MULTILINE,
            bad_row("BD-005", "stock", "-1", "negative_stock"),
            OK_B,
            bad_row("BD-006", "name", "", "missing_value"),
            bad_row("BD-007", "active", "наверное", "bad_active"),
            OK_LAST,
            bad_row("BD-008", "image", "images/нет_такого_фото.jpg", "missing_image"),
            "BD-010,Постер «Байкал»,1990,5,Декор / Постеры,Печать на хлопковой бумаге.,,1",
        ],
    ),
]

# Files that are not CSV text at all: name -> (bytes, errors).
EMPTY_FILE = [Error(None, None, "empty_file")]
NOT_CSV = [Error(None, None, "not_csv")]


# ---------------------------------------------------------------------------- images and junk


def small_jpeg(kind: str, colour: tuple[int, int, int]) -> bytes:
    """A 160x160 picture of a t-shirt, mug or bag; a few KB."""
    image = Image.new("RGB", (160, 160), (245, 240, 232))
    draw = ImageDraw.Draw(image)
    if kind == "tshirt":
        draw.polygon(
            [(62, 20), (24, 34), (8, 70), (32, 80), (40, 62), (40, 145), (120, 145), (120, 62),
             (128, 80), (152, 70), (136, 34), (98, 20), (80, 32)],
            fill=colour,
        )  # fmt: skip
    elif kind == "mug":
        draw.arc((96, 56, 140, 112), 270, 90, fill=colour, width=10)
        draw.rounded_rectangle((30, 36, 108, 136), radius=10, fill=colour)
    else:
        draw.arc((50, 10, 110, 90), 180, 360, fill=(120, 100, 80), width=6)
        draw.polygon([(28, 50), (132, 50), (140, 148), (20, 148)], fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def png_bytes() -> bytes:
    """A tiny real PNG, to be renamed .csv."""
    image = Image.new("RGB", (24, 24), (200, 30, 30))
    ImageDraw.Draw(image).ellipse((4, 4, 20, 20), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def xlsx_like_bytes() -> bytes:
    """A zip shaped like an .xlsx (the classic 'I saved it from Excel' upload), fixed dates."""
    out = io.BytesIO()
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns='
        '"http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook/>',
        "xl/worksheets/sheet1.xml": '<worksheet><sheetData><row><c t="inlineStr"><is><t>sku'
        "</t></is></c></row></sheetData></worksheet>",
    }
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), text)
    return out.getvalue()


# ---------------------------------------------------------------------------- writing


def encode(good: GoodFile) -> bytes:
    separator = "\r\n" if good.crlf else "\n"
    text = separator.join(good.rows) + (separator if good.final_newline else "")
    data = text.encode(good.encoding)
    return b"\xef\xbb\xbf" + data if good.bom else data


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    for folder in (GOOD / "images", BAD / "images"):
        folder.mkdir(parents=True, exist_ok=True)

    (GOOD / "images" / "tshirt.jpg").write_bytes(small_jpeg("tshirt", (40, 40, 48)))
    (GOOD / "images" / "mug.jpg").write_bytes(small_jpeg("mug", (228, 87, 46)))
    (GOOD / "images" / "bag.jpg").write_bytes(small_jpeg("bag", (214, 196, 170)))
    good_expected: dict[str, object] = {}
    for good in GOOD_FILES:
        (GOOD / good.name).write_bytes(encode(good))
        good_expected[good.name] = {
            "products": [asdict(product) for product in good.products],
            "warnings": [asdict(warning) for warning in good.warnings],
        }
    write_json(GOOD / "expected.json", good_expected)

    (BAD / "images" / "ok.jpg").write_bytes(small_jpeg("bag", (142, 94, 162)))
    (BAD / "images" / "not_an_image.jpg").write_text(
        "Это не картинка, а текстовый файл с расширением .jpg\n", encoding="utf-8"
    )
    bad_expected: dict[str, list[dict[str, object]]] = {}
    for bad in BAD_FILES:
        (BAD / bad.name).write_text(bad.text(), encoding="utf-8", newline="")
        bad_expected[bad.name] = [asdict(error) for error in bad.errors()]
    for name, data, errors in (
        ("empty_file.csv", b"", EMPTY_FILE),
        ("not_csv.csv", png_bytes(), NOT_CSV),
        ("not_csv_xlsx.csv", xlsx_like_bytes(), NOT_CSV),
    ):
        (BAD / name).write_bytes(data)
        bad_expected[name] = [asdict(error) for error in errors]
    write_json(BAD / "expected.json", dict(sorted(bad_expected.items())))
    print(f"{len(GOOD_FILES)} good files, {len(bad_expected)} bad files")


if __name__ == "__main__":
    main()
