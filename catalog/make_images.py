"""Draw the sample catalogue's product pictures from ``products.csv``.

Every ``image`` path in ``catalog/products.csv`` gets a stylised illustration: a two-colour
gradient, a flat drawing of the product and its name. Nothing is downloaded; the only input
is the CSV next to this script. Run it from anywhere:

    .venv/bin/python catalog/make_images.py

``tote-lilac.jpg`` is stored rotated by 90 degrees with EXIF Orientation=6, so it only looks
right once a viewer (or the importer) applies the EXIF orientation.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
CSV_PATH = HERE / "products.csv"
SHOP_NAME = "ЛАВКА РЕМЁСЕЛ"
SUPERSAMPLE = 2  # draw at 2x and scale down: cheap anti-aliasing for the shapes
JPEG_QUALITY = 80
EXIF_ORIENTATION = 0x0112
MAX_BYTES = 80 * 1024

# Fonts with Cyrillic glyphs that are commonly already installed. Pillow's bundled default
# font (``ImageFont.load_default``) only covers Latin, so it is the last resort, with the
# product name transliterated.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/Library/Fonts/Arial Bold.ttf",
    "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    "C:/Windows/Fonts/arialbd.ttf",
    "DejaVuSans-Bold.ttf",
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]
Point = tuple[float, float]


@dataclass(frozen=True)
class Spec:
    """How one picture looks: the drawing, its colours, its size as displayed, EXIF."""

    kind: str
    bg_top: RGB
    bg_bottom: RGB
    main: RGB
    accent: RGB
    size: tuple[int, int] = (800, 800)
    exif_rotate: bool = False


def hex_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def spec(kind: str, colours: str, size: tuple[int, int] = (800, 800), rotate: bool = False) -> Spec:
    top, bottom, main, accent = (hex_rgb(c) for c in colours.split())
    return Spec(kind, top, bottom, main, accent, size, rotate)


SPECS: dict[str, Spec] = {
    "tshirt-aurora-black.jpg": spec("tshirt-aurora", "#1b2a49 #3f8f7f #1c1c1e #5ef2b0"),
    "tshirt-cat-white.jpg": spec("tshirt-cat", "#f6d7b0 #e39b6b #fbfbf8 #2b2b2b"),
    "tshirt-spb-grey.jpg": spec("tshirt-spire", "#c9d6df #52616b #9aa1a8 #f0c419"),
    "tshirt-spb-grey-back.jpg": spec("tshirt-back", "#c9d6df #52616b #9aa1a8 #1e2022"),
    "hoodie-graphite.jpg": spec("hoodie", "#e3e3e3 #9e9e9e #3b3f45 #e8b04b"),
    "sweatshirt-birches.jpg": spec("sweatshirt", "#d8e8c8 #8fb584 #f3ead8 #3d5a3a"),
    "beanie-mustard.jpg": spec("beanie", "#a7c5eb #4a6fa5 #d8a31a #f4e1a1"),
    "mug-morning.jpg": spec("mug", "#ffe29a #ffa07a #fdfdfd #e4572e"),
    "mug-enamel.jpg": spec("mug-enamel", "#c7e9fb #5aa9e6 #f7f7f2 #1f3c88"),
    "thermo-mug.jpg": spec("thermo", "#fbe3e8 #c06c84 #2d6a4f #d8f3dc"),
    "notebook-kraft.jpg": spec("notebook", "#f1e3cb #b08968 #c8a27a #4b3621"),
    "sketchbook-watercolor.jpg": spec("sketchbook", "#e0f7fa #80deea #fafafa #26a69a"),
    "postcards-cities.jpg": spec("postcards", "#fff3e0 #ffb74d #ffffff #d84315", (1200, 800)),
    "tote-natural.jpg": spec("tote", "#d6ccc2 #8d7b68 #f5ebe0 #6b4f3a"),
    "tote-lilac.jpg": spec("tote-lilac", "#f3e8ff #b392ac #efe6dd #8e5ea2", (800, 1000), True),
    "pin-hedgehog.jpg": spec("pin", "#2c3e50 #4ca1af #f1e9da #8d6346"),
    "poster-metro.jpg": spec("poster-metro", "#eceff1 #90a4ae #ffffff #d32f2f", (800, 1120)),
    "poster-baikal.jpg": spec("poster-lake", "#0f2027 #2c5364 #f8f9fa #3a86ff", (1200, 800)),
    "gift-coffee-tea.jpg": spec("gift", "#f5e6ca #a47148 #6f4e37 #e9c46a"),
    "gift-traveller.jpg": spec("gift", "#caf0f8 #0077b6 #264653 #e76f51"),
    "gift-newyear.jpg": spec("gift", "#1d3557 #457b9d #c1121f #f1faee"),
}

TRANSLIT: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}  # fmt: skip


# ---------------------------------------------------------------------------- fonts and text


def has_cyrillic(font: Font) -> bool:
    """True when the font draws 'Ж' differently from a private-use code point (its 'tofu')."""
    tofu = font.getmask("\ue000")
    glyph = font.getmask("Ж")
    return bytes(glyph) != bytes(tofu) or glyph.size != tofu.size


def load_font(size: int) -> tuple[Font, bool]:
    """A font at ``size`` px and whether it can draw Cyrillic."""
    for candidate in FONT_CANDIDATES:
        try:
            font = ImageFont.truetype(candidate, size)
        except OSError:
            continue
        if has_cyrillic(font):
            return font, True
    font = ImageFont.load_default(size=size)
    return font, has_cyrillic(font)


def transliterate(text: str) -> str:
    out = []
    for char in text:
        latin = TRANSLIT.get(char.lower())
        if latin is None:
            out.append({"«": '"', "»": '"', "—": "-", "₽": "RUB"}.get(char, char))
        else:
            out.append(latin.capitalize() if char.isupper() else latin)
    return "".join(out)


def wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and draw.textlength(trial, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


# ---------------------------------------------------------------------------- drawing helpers


class Canvas:
    """Maps unit coordinates (0..1 in a square box) onto the supersampled image."""

    def __init__(self, image: Image.Image, box: tuple[int, int, int, int]) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.x0, self.y0, x1, _ = box
        self.side = x1 - self.x0

    def p(self, u: float, v: float) -> tuple[float, float]:
        return (self.x0 + u * self.side, self.y0 + v * self.side)

    def pts(self, points: Sequence[Point]) -> list[tuple[float, float]]:
        return [self.p(u, v) for u, v in points]

    def box(self, u0: float, v0: float, u1: float, v1: float) -> tuple[float, float, float, float]:
        a, b = self.p(u0, v0)
        c, d = self.p(u1, v1)
        return (a, b, c, d)

    def w(self, unit: float) -> int:
        return max(1, round(unit * self.side))

    def poly(self, points: Sequence[Point], fill: RGB, outline: RGB | None = None) -> None:
        self.draw.polygon(self.pts(points), fill=fill, outline=outline, width=self.w(0.006))

    def line(self, points: Sequence[Point], fill: RGB, width: float = 0.012) -> None:
        self.draw.line(self.pts(points), fill=fill, width=self.w(width), joint="curve")

    def ellipse(
        self,
        u0: float,
        v0: float,
        u1: float,
        v1: float,
        fill: RGB | None,
        outline: RGB | None = None,
    ) -> None:
        self.draw.ellipse(self.box(u0, v0, u1, v1), fill=fill, outline=outline, width=self.w(0.01))

    def rect(
        self,
        u0: float,
        v0: float,
        u1: float,
        v1: float,
        fill: RGB | None,
        radius: float = 0.0,
        outline: RGB | None = None,
    ) -> None:
        self.draw.rounded_rectangle(
            self.box(u0, v0, u1, v1),
            radius=self.w(radius) if radius else 0,
            fill=fill,
            outline=outline,
            width=self.w(0.008),
        )


def shade(colour: RGB, factor: float) -> RGB:
    """Darker (<1) or lighter (>1) version of a colour."""
    if factor <= 1:
        return (round(colour[0] * factor), round(colour[1] * factor), round(colour[2] * factor))
    return (
        round(colour[0] + (255 - colour[0]) * (factor - 1)),
        round(colour[1] + (255 - colour[1]) * (factor - 1)),
        round(colour[2] + (255 - colour[2]) * (factor - 1)),
    )


def rotated(points: Sequence[Point], centre: Point, degrees: float) -> list[Point]:
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = centre
    return [
        (cx + (u - cx) * cos - (v - cy) * sin, cy + (u - cx) * sin + (v - cy) * cos)
        for u, v in points
    ]


def gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size, Image.Resampling.BICUBIC)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


# ---------------------------------------------------------------------------- product drawings

TSHIRT: list[Point] = [
    (0.38, 0.10), (0.12, 0.19), (0.02, 0.42), (0.17, 0.49), (0.24, 0.38), (0.24, 0.95),
    (0.76, 0.95), (0.76, 0.38), (0.83, 0.49), (0.98, 0.42), (0.88, 0.19), (0.62, 0.10),
    (0.57, 0.155), (0.50, 0.175), (0.43, 0.155),
]  # fmt: skip
LONG_SLEEVES: list[Point] = [
    (0.37, 0.12), (0.15, 0.19), (0.04, 0.88), (0.16, 0.91), (0.25, 0.42), (0.25, 0.95),
    (0.75, 0.95), (0.75, 0.42), (0.84, 0.91), (0.96, 0.88), (0.85, 0.19), (0.63, 0.12),
]  # fmt: skip


def draw_tshirt(c: Canvas, s: Spec) -> None:
    c.poly(TSHIRT, s.main, outline=shade(s.main, 0.8))
    c.line([(0.43, 0.155), (0.50, 0.175), (0.57, 0.155)], shade(s.main, 0.7), 0.01)
    if s.kind == "tshirt-aurora":
        for i, colour in enumerate((s.accent, shade(s.accent, 0.7), (140, 120, 255))):
            y = 0.40 + i * 0.06
            wave = [(0.32 + k * 0.04, y + 0.03 * math.sin(k * 0.9 + i)) for k in range(10)]
            c.line(wave, colour, 0.018)
        for u, v in ((0.36, 0.33), (0.55, 0.30), (0.64, 0.36), (0.45, 0.35)):
            c.ellipse(u, v, u + 0.012, v + 0.012, (255, 255, 255))
    elif s.kind == "tshirt-cat":
        c.ellipse(0.38, 0.36, 0.62, 0.58, s.accent)
        c.poly([(0.39, 0.42), (0.40, 0.31), (0.47, 0.37)], s.accent)
        c.poly([(0.61, 0.42), (0.60, 0.31), (0.53, 0.37)], s.accent)
        c.ellipse(0.44, 0.43, 0.475, 0.465, s.main)
        c.ellipse(0.525, 0.43, 0.56, 0.465, s.main)
        c.line([(0.62, 0.36), (0.74, 0.26)], (90, 90, 90), 0.02)  # the telescope
        c.ellipse(0.47, 0.24, 0.49, 0.26, (240, 190, 40))
    elif s.kind == "tshirt-spire":
        c.rect(0.40, 0.52, 0.60, 0.62, s.accent)
        c.poly([(0.46, 0.52), (0.50, 0.28), (0.54, 0.52)], s.accent)
        c.line([(0.50, 0.28), (0.50, 0.22)], s.accent, 0.006)
        c.line([(0.34, 0.64), (0.66, 0.64)], shade(s.main, 1.5), 0.01)
    else:  # the back: a line of text as grey strokes
        for i, width in enumerate((0.26, 0.20, 0.30)):
            v = 0.30 + i * 0.05
            c.line([(0.5 - width / 2, v), (0.5 + width / 2, v)], s.accent, 0.014)


def draw_hoodie(c: Canvas, s: Spec) -> None:
    if s.kind == "hoodie":
        c.ellipse(0.33, 0.02, 0.67, 0.30, shade(s.main, 0.85))
        c.ellipse(0.40, 0.07, 0.60, 0.25, shade(s.main, 0.5))
    c.poly(LONG_SLEEVES, s.main, outline=shade(s.main, 0.8))
    c.rect(0.25, 0.88, 0.75, 0.95, shade(s.main, 0.9))
    c.rect(0.04, 0.85, 0.16, 0.91, shade(s.main, 0.9))
    c.rect(0.84, 0.85, 0.96, 0.91, shade(s.main, 0.9))
    if s.kind == "hoodie":
        c.poly([(0.34, 0.66), (0.66, 0.66), (0.70, 0.84), (0.30, 0.84)], shade(s.main, 0.85))
        c.line([(0.46, 0.22), (0.45, 0.42)], s.accent, 0.008)
        c.line([(0.54, 0.22), (0.55, 0.42)], s.accent, 0.008)
        c.ellipse(0.43, 0.47, 0.57, 0.61, None, outline=s.accent)
    else:
        c.ellipse(0.40, 0.07, 0.60, 0.19, shade(s.main, 0.85))
        c.ellipse(0.43, 0.09, 0.57, 0.16, shade(s.main, 0.6))
        for k in range(5):
            u = 0.39 + k * 0.055
            top = 0.30 + (k % 2) * 0.04
            c.line([(u, top), (u + 0.005, 0.56)], (250, 250, 250), 0.018)
            c.line([(u, top + 0.06), (u, top + 0.065)], s.accent, 0.02)
            c.line([(u + 0.002, top + 0.16), (u + 0.002, top + 0.165)], s.accent, 0.02)
            c.line([(u, top + 0.1), (u + 0.04, top + 0.07)], s.accent, 0.006)


def draw_beanie(c: Canvas, s: Spec) -> None:
    c.ellipse(0.43, 0.06, 0.57, 0.20, s.accent)
    c.draw.chord(c.box(0.18, 0.16, 0.82, 0.90), 180, 360, fill=s.main)
    for k in range(9):
        u = 0.24 + k * 0.065
        c.line([(u, 0.34), (u, 0.53)], shade(s.main, 0.85), 0.01)
    c.rect(0.15, 0.50, 0.85, 0.70, shade(s.main, 0.9), radius=0.04)
    for k in range(11):
        u = 0.19 + k * 0.062
        c.line([(u, 0.52), (u, 0.68)], shade(s.main, 0.75), 0.012)


def draw_mug(c: Canvas, s: Spec) -> None:
    if s.kind == "thermo":
        c.rect(0.34, 0.16, 0.66, 0.92, s.main, radius=0.06)
        c.rect(0.32, 0.10, 0.68, 0.20, shade(s.main, 0.6), radius=0.03)
        c.rect(0.45, 0.06, 0.55, 0.11, shade(s.main, 0.5), radius=0.02)
        c.rect(0.34, 0.45, 0.66, 0.60, s.accent)
        c.line([(0.40, 0.52), (0.48, 0.49), (0.54, 0.55), (0.60, 0.51)], s.main, 0.012)
        c.line([(0.38, 0.22), (0.38, 0.86)], shade(s.main, 1.4), 0.015)
        return
    c.draw.arc(c.box(0.60, 0.34, 0.86, 0.70), 270, 90, fill=s.main, width=c.w(0.06))
    c.rect(0.18, 0.22, 0.68, 0.86, s.main, radius=0.05, outline=shade(s.main, 0.85))
    if s.kind == "mug-enamel":
        c.draw.arc(c.box(0.60, 0.34, 0.86, 0.70), 270, 90, fill=s.accent, width=c.w(0.012))
        c.rect(0.18, 0.22, 0.68, 0.26, s.accent)
        c.ellipse(0.36, 0.46, 0.50, 0.60, None, outline=s.accent)
        c.poly([(0.43, 0.48), (0.46, 0.56), (0.40, 0.56)], s.accent)
    else:
        c.ellipse(0.33, 0.38, 0.53, 0.58, s.accent)
        for k in range(8):
            angle = math.radians(k * 45)
            u, v = 0.43 + 0.15 * math.cos(angle), 0.48 + 0.15 * math.sin(angle)
            c.line(
                [(0.43 + 0.12 * math.cos(angle), 0.48 + 0.12 * math.sin(angle)), (u, v)],
                s.accent,
                0.012,
            )
        c.line([(0.29, 0.70), (0.57, 0.70)], shade(s.accent, 0.8), 0.014)
    c.line([(0.27, 0.12), (0.29, 0.05)], (255, 255, 255), 0.012)  # steam
    c.line([(0.43, 0.13), (0.45, 0.04)], (255, 255, 255), 0.012)


def draw_notebook(c: Canvas, s: Spec) -> None:
    c.rect(0.24, 0.10, 0.80, 0.92, shade(s.main, 0.7), radius=0.03)
    c.rect(0.20, 0.08, 0.76, 0.90, s.main, radius=0.03, outline=shade(s.main, 0.8))
    if s.kind == "sketchbook":
        for k in range(10):
            u = 0.25 + k * 0.05
            c.ellipse(u, 0.05, u + 0.025, 0.11, None, outline=(120, 120, 120))
        for i, colour in enumerate(((239, 83, 80), (66, 165, 245), (255, 202, 40), s.accent)):
            u = 0.30 + i * 0.1
            c.ellipse(u, 0.40 + (i % 2) * 0.08, u + 0.16, 0.56 + (i % 2) * 0.08, colour)
        return
    c.rect(0.22, 0.08, 0.27, 0.90, shade(s.main, 0.85))
    c.rect(0.66, 0.08, 0.69, 0.90, s.accent)
    c.rect(0.34, 0.24, 0.62, 0.36, (245, 236, 220), radius=0.01)
    for v in (0.28, 0.32):
        c.line([(0.37, v), (0.59, v)], s.accent, 0.006)
    for i in range(6):
        for j in range(6):
            u, v = 0.35 + i * 0.05, 0.50 + j * 0.05
            c.ellipse(u, v, u + 0.008, v + 0.008, shade(s.main, 0.75))


def draw_postcards(c: Canvas, s: Spec) -> None:
    card: list[Point] = [(0.20, 0.28), (0.80, 0.28), (0.80, 0.72), (0.20, 0.72)]
    scenes = (((56, 142, 60), (129, 199, 132)), ((30, 136, 229), (144, 202, 249)), None)
    for angle, scene in zip((-14, 8, -2), scenes, strict=True):
        outline = rotated(card, (0.5, 0.5), angle)
        c.poly(outline, s.main, outline=(200, 200, 200))
        inner = rotated([(0.24, 0.32), (0.76, 0.32), (0.76, 0.62), (0.24, 0.62)], (0.5, 0.5), angle)
        if scene is None:
            c.poly(inner, (255, 224, 178))
            domes = [(0.34, 0.62), (0.34, 0.50), (0.40, 0.50), (0.40, 0.62)]
            c.poly(rotated(domes, (0.5, 0.5), angle), s.accent)
            c.poly(rotated([(0.33, 0.50), (0.37, 0.41), (0.41, 0.50)], (0.5, 0.5), angle), s.accent)
            tower = [(0.52, 0.62), (0.52, 0.45), (0.58, 0.45), (0.58, 0.62)]
            c.poly(rotated(tower, (0.5, 0.5), angle), (121, 85, 72))
            c.poly(
                rotated([(0.51, 0.45), (0.55, 0.36), (0.59, 0.45)], (0.5, 0.5), angle),
                (46, 125, 50),
            )
            c.line(rotated([(0.28, 0.67), (0.60, 0.67)], (0.5, 0.5), angle), (150, 150, 150), 0.008)
        else:
            c.poly(inner, scene[1])
            hills = [(0.24, 0.62), (0.36, 0.46), (0.50, 0.58), (0.62, 0.42), (0.76, 0.62)]
            c.poly(rotated(hills, (0.5, 0.5), angle), scene[0])


def draw_tote(c: Canvas, s: Spec) -> None:
    for u in (0.30, 0.56):
        c.draw.arc(
            c.box(u, 0.05, u + 0.16, 0.52), 180, 360, fill=shade(s.main, 0.75), width=c.w(0.03)
        )
    c.poly(
        [(0.18, 0.30), (0.82, 0.30), (0.86, 0.94), (0.14, 0.94)], s.main, outline=shade(s.main, 0.8)
    )
    if s.kind == "tote-lilac":
        c.line([(0.50, 0.88), (0.52, 0.70), (0.56, 0.52)], (85, 107, 47), 0.012)
        for k in range(22):
            angle = k * 2.4
            r = 0.02 + 0.006 * k
            u, v = 0.55 + r * math.cos(angle), 0.58 - 0.8 * r - 0.004 * k + 0.02 * math.sin(k)
            colour = s.accent if k % 3 else shade(s.accent, 1.4)
            c.ellipse(u - 0.025, v - 0.025, u + 0.025, v + 0.025, colour)
        c.poly([(0.52, 0.74), (0.40, 0.68), (0.51, 0.66)], (107, 142, 35))
        c.rect(0.60, 0.78, 0.78, 0.80, (150, 150, 150))  # the zipped pocket, seen through
    else:
        c.ellipse(0.38, 0.48, 0.62, 0.72, None, outline=s.accent)
        c.line([(0.44, 0.64), (0.50, 0.54), (0.56, 0.64)], s.accent, 0.012)
        c.line([(0.30, 0.80), (0.70, 0.80)], s.accent, 0.008)


def draw_pin(c: Canvas, s: Spec) -> None:
    c.ellipse(0.16, 0.12, 0.84, 0.80, (212, 175, 55))
    c.ellipse(0.19, 0.15, 0.81, 0.77, s.main)
    for k in range(4):
        v = 0.50 + k * 0.05
        c.line([(0.24 + k * 0.02, v), (0.76 - k * 0.03, v)], (225, 229, 235), 0.03)
    spikes: list[Point] = [(0.32, 0.56)]
    for k in range(9):
        u = 0.34 + k * 0.035
        spikes += [(u, 0.40 - 0.06 * math.sin(k / 8 * math.pi)), (u + 0.017, 0.47)]
    spikes += [(0.66, 0.56)]
    c.poly(spikes, s.accent)
    c.ellipse(0.30, 0.46, 0.68, 0.62, s.accent)
    c.poly([(0.64, 0.50), (0.76, 0.55), (0.64, 0.59)], shade(s.accent, 1.4))
    c.ellipse(0.75, 0.535, 0.78, 0.565, (30, 30, 30))
    c.ellipse(0.62, 0.51, 0.64, 0.53, (30, 30, 30))
    c.ellipse(0.40, 0.25, 0.52, 0.33, (250, 250, 250))  # the bundle


def draw_poster(c: Canvas, s: Spec) -> None:
    c.rect(0.18, 0.04, 0.82, 0.96, (60, 60, 60))
    c.rect(0.21, 0.07, 0.79, 0.93, s.main)
    if s.kind == "poster-metro":
        lines = (
            ((211, 47, 47), [(0.26, 0.20), (0.42, 0.36), (0.42, 0.64), (0.58, 0.84)]),
            ((56, 142, 60), [(0.72, 0.16), (0.56, 0.36), (0.36, 0.56), (0.28, 0.80)]),
            ((25, 118, 210), [(0.26, 0.48), (0.50, 0.48), (0.74, 0.56)]),
        )
        c.ellipse(0.30, 0.28, 0.70, 0.72, None, outline=(121, 85, 72))
        for colour, path in lines:
            c.line(path, colour, 0.022)
            for u, v in path:
                c.ellipse(
                    u - 0.018, v - 0.018, u + 0.018, v + 0.018, (255, 255, 255), outline=colour
                )
    else:
        c.rect(0.21, 0.07, 0.79, 0.55, (255, 214, 165))
        c.ellipse(0.42, 0.30, 0.58, 0.46, (255, 159, 67))
        c.poly([(0.21, 0.55), (0.34, 0.36), (0.45, 0.55)], (69, 90, 100))
        c.poly([(0.38, 0.55), (0.56, 0.30), (0.79, 0.55)], (55, 71, 79))
        c.rect(0.21, 0.55, 0.79, 0.93, s.accent)
        for k in range(6):
            v = 0.60 + k * 0.055
            c.line([(0.28 + 0.03 * (k % 2), v), (0.62 - 0.02 * k, v)], (202, 240, 248), 0.008)


def draw_gift(c: Canvas, s: Spec) -> None:
    c.rect(0.18, 0.38, 0.82, 0.92, s.main, radius=0.015)
    c.rect(0.14, 0.28, 0.86, 0.40, shade(s.main, 1.15), radius=0.015)
    c.rect(0.46, 0.28, 0.54, 0.92, s.accent)
    c.ellipse(0.30, 0.14, 0.50, 0.30, None, outline=s.accent)
    c.ellipse(0.50, 0.14, 0.70, 0.30, None, outline=s.accent)
    c.ellipse(0.46, 0.22, 0.54, 0.30, s.accent)
    c.line([(0.18, 0.60), (0.46, 0.60)], shade(s.main, 0.8), 0.008)


DRAWERS: dict[str, Callable[[Canvas, Spec], None]] = {
    "tshirt": draw_tshirt,
    "hoodie": draw_hoodie,
    "sweatshirt": draw_hoodie,
    "beanie": draw_beanie,
    "mug": draw_mug,
    "thermo": draw_mug,
    "notebook": draw_notebook,
    "sketchbook": draw_notebook,
    "postcards": draw_postcards,
    "tote": draw_tote,
    "pin": draw_pin,
    "poster": draw_poster,
    "gift": draw_gift,
}


def drawer_for(kind: str) -> Callable[[Canvas, Spec], None]:
    return DRAWERS.get(kind) or DRAWERS[kind.split("-")[0]]


# ---------------------------------------------------------------------------- composition


def render(name: str, s: Spec) -> Image.Image:
    """The picture as it should be seen (before any EXIF trickery)."""
    width, height = s.size
    big = (width * SUPERSAMPLE, height * SUPERSAMPLE)
    image = gradient(big, s.bg_top, s.bg_bottom)

    unit = min(big)
    title_font, cyrillic = load_font(round(unit * 0.055))
    brand_font, _ = load_font(round(unit * 0.032))
    title = name if cyrillic else transliterate(name)
    brand = SHOP_NAME if cyrillic else transliterate(SHOP_NAME)

    draw = ImageDraw.Draw(image)
    margin = round(unit * 0.05)
    lines = wrap(draw, title, title_font, big[0] - 2 * margin)[:3]
    line_height = round(unit * 0.07)
    band = line_height * len(lines) + 2 * margin

    top = margin * 2
    free_height = big[1] - band - top - margin
    side = min(big[0] - 2 * margin, free_height)
    x0 = (big[0] - side) // 2
    y0 = top + (free_height - side) // 2
    drawer_for(s.kind)(Canvas(image, (x0, y0, x0 + side, y0 + side)), s)

    overlay = Image.new("RGBA", big, (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rectangle((0, big[1] - band, big[0], big[1]), fill=(255, 255, 255, 215))
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.text(
        (margin, margin),
        brand,
        font=brand_font,
        fill=(255, 255, 255),
        stroke_width=max(1, unit // 400),
        stroke_fill=shade(s.bg_top, 0.5),
    )
    y = big[1] - band + margin
    for line in lines:
        draw.text((margin, y), line, font=title_font, fill=(34, 34, 34))
        y += line_height
    return image.resize(s.size, Image.Resampling.LANCZOS)


def save(image: Image.Image, path: Path, exif_rotate: bool) -> None:
    """Save as JPEG; with ``exif_rotate`` store it turned and tagged Orientation=6.

    Orientation 6 means "rotate the stored pixels 90 degrees clockwise to display them", so
    the stored pixels are the picture turned 90 degrees counter-clockwise.
    """
    exif = Image.Exif()
    if exif_rotate:
        image = image.transpose(Image.Transpose.ROTATE_90)
        exif[EXIF_ORIENTATION] = 6
    quality = JPEG_QUALITY
    while True:
        image.save(path, "JPEG", quality=quality, optimize=True, exif=exif.tobytes())
        if path.stat().st_size <= MAX_BYTES or quality <= 50:
            return
        quality -= 5


def image_names(csv_path: Path) -> dict[str, str]:
    """Every image path in the CSV mapped to the name of the product it belongs to."""
    names: dict[str, str] = {}
    with csv_path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            for ref in filter(None, (part.strip() for part in row["image"].split("|"))):
                names[ref] = row["name"]
    return names


def main() -> None:
    names = image_names(CSV_PATH)
    unknown = [ref for ref in names if Path(ref).name not in SPECS]
    if unknown:
        raise SystemExit(f"no drawing spec for: {', '.join(unknown)}")
    for ref, name in names.items():
        target = HERE / ref
        target.parent.mkdir(parents=True, exist_ok=True)
        s = SPECS[target.name]
        save(render(name, s), target, s.exif_rotate)
        print(f"{ref}: {s.size[0]}x{s.size[1]}, {target.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
