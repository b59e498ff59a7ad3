"""Pictures in catalogue imports: normalisation with Pillow, storage, and refusals.

Every picture here is generated at test time.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms, ImageFile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import shopbot.importer.core
from shopbot.importer import ImportOptions, ImportReport, import_catalog
from shopbot.importer.images import MAX_SIDE
from shopbot.models import ProductImage
from tests.test_importer import csv_bytes, dump, problems, snapshot

Factory = async_sessionmaker[AsyncSession]


def save(image: Image.Image, path: Path, **params: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **params)
    return path


def one_colour_png(width: int, height: int) -> bytes:
    """A 1-bit PNG, tiny on disk however many pixels it claims and holds."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed pixels
    compressor = zlib.compressobj(1)
    rows_per_block = 1000
    body = b"".join(
        [compressor.compress(row * rows_per_block) for _ in range(height // rows_per_block)]
        + [compressor.compress(row * (height % rows_per_block)), compressor.flush()]
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


async def import_pictures(
    session_factory: Factory, folder: Path, media_dir: Path, *cells: str, **options: Any
) -> ImportReport:
    rows = [f"P-{n},Товар {n},990,1,,,{cell},1" for n, cell in enumerate(cells, 1)]
    return await import_catalog(
        session_factory,
        csv_bytes(*rows),
        ImportOptions(media_dir=media_dir, base_dir=folder, **options),
    )


async def stored_pictures(session: AsyncSession, media_dir: Path) -> list[Image.Image]:
    paths = await session.scalars(select(ProductImage.path).order_by(ProductImage.id))
    return [Image.open(media_dir / path) for path in paths]


async def test_exif_orientation_is_applied_and_metadata_stripped(
    session_factory: Factory, session: AsyncSession, media_dir: Path, tmp_path: Path
) -> None:
    # Stored on its side, as phones do: left half red, right half blue, "rotate 90° CW".
    photo = Image.new("RGB", (200, 100), "red")
    photo.paste("blue", (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "PhoneMaker"  # Make
    save(photo, tmp_path / "photo.jpg", exif=exif, comment=b"secret comment")

    report = await import_pictures(session_factory, tmp_path, media_dir, "photo.jpg")

    assert report.ok, report.errors
    [stored] = await stored_pictures(session, media_dir)
    assert stored.format == "JPEG" and stored.mode == "RGB"
    assert stored.size == (100, 200)
    top, bottom = stored.getpixel((50, 20)), stored.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 60  # red on top once upright
    assert bottom[2] > 200 and bottom[0] < 60
    assert not stored.getexif() and "comment" not in stored.info and "exif" not in stored.info


async def test_cmyk_and_transparent_pictures_become_rgb_jpegs(
    session_factory: Factory, session: AsyncSession, media_dir: Path, tmp_path: Path
) -> None:
    save(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), tmp_path / "print.jpg")
    logo = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    logo.paste((0, 128, 0, 255), (16, 16, 48, 48))
    save(logo, tmp_path / "logo.png")
    save(Image.new("RGB", (64, 64), "navy"), tmp_path / "p3.png", icc_profile=_srgb_profile())

    report = await import_pictures(
        session_factory, tmp_path, media_dir, "print.jpg", "logo.png", "p3.png"
    )

    assert report.ok, report.errors
    printed, flattened, profiled = await stored_pictures(session, media_dir)
    for stored in (printed, flattened, profiled):
        assert (stored.format, stored.mode) == ("JPEG", "RGB")
        assert "icc_profile" not in stored.info
    red, _, blue = printed.getpixel((32, 32))
    assert red > 200 and blue < 80
    assert min(flattened.getpixel((2, 2))) > 240  # transparent became white, not black
    assert flattened.getpixel((32, 32))[1] > 100


def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


async def test_identical_pictures_are_stored_once(
    session_factory: Factory, session: AsyncSession, media_dir: Path, tmp_path: Path
) -> None:
    picture = save(Image.new("RGB", (120, 80), "orange"), tmp_path / "a.jpg")
    (tmp_path / "copy.jpg").write_bytes(picture.read_bytes())

    report = await import_pictures(session_factory, tmp_path, media_dir, "a.jpg", "copy.jpg")

    assert (report.images_processed, report.images_reused) == (2, 1)
    paths = list(await session.scalars(select(ProductImage.path)))
    assert len(paths) == 2 and paths[0] == paths[1]
    assert paths[0].startswith("products/") and paths[0].endswith(".jpg")
    digest = Path(paths[0]).stem
    assert paths[0] == f"products/{digest[:2]}/{digest}.jpg"
    assert [name for name, data in snapshot(media_dir).items() if data] == [paths[0]]


async def test_big_pictures_are_scaled_down_for_telegram(
    session_factory: Factory, session: AsyncSession, media_dir: Path, tmp_path: Path
) -> None:
    save(Image.new("RGB", (4000, 1000), "teal"), tmp_path / "wide.png")

    report = await import_pictures(session_factory, tmp_path, media_dir, "wide.png")

    assert report.ok, report.errors
    [stored] = await stored_pictures(session, media_dir)
    assert stored.size == (MAX_SIDE, MAX_SIDE // 4)


@pytest.mark.parametrize(
    ("make", "code", "reason"),
    [
        (lambda p: p.write_bytes(b"\xff\xd8" + bytes(20 * 1024 * 1024)), "image_too_large", "MB"),
        (lambda p: p.write_bytes(one_colour_png(30000, 30000)), "image_bomb", "pixels"),
        (lambda p: save(Image.new("RGB", (3000, 100)), p, format="PNG"), "bad_image", "3000x100"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n broken"), "bad_image", "picture"),
    ],
    ids=["oversized", "bomb", "aspect-30", "damaged"],
)
async def test_unusable_pictures_are_refused(
    make: Callable[[Path], object],
    code: str,
    reason: str,
    engine: AsyncEngine,
    session_factory: Factory,
    media_dir: Path,
    tmp_path: Path,
) -> None:
    path = tmp_path / "pictures" / "bad.img"
    path.parent.mkdir()
    make(path)
    save(Image.new("RGB", (50, 50), "green"), tmp_path / "pictures" / "good.jpg")
    before = await dump(engine)

    report = await import_pictures(
        session_factory, tmp_path / "pictures", media_dir, "good.jpg", "good.jpg|bad.img"
    )

    assert problems(report) == [(3, "image", code)]
    assert reason in report.errors[0].message
    assert await dump(engine) == before
    assert snapshot(media_dir) == {}


async def test_pixels_over_the_limit_are_refused_where_pillow_only_warns(
    monkeypatch: pytest.MonkeyPatch, session_factory: Factory, media_dir: Path, tmp_path: Path
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    save(Image.new("RGB", (120, 100), "green"), tmp_path / "over.png")  # 12,000 pixels

    with pytest.warns(Image.DecompressionBombWarning):  # Pillow's own check, which only warns
        report = await import_pictures(session_factory, tmp_path, media_dir, "over.png")

    assert problems(report) == [(2, "image", "image_bomb")]


async def test_pictures_decoding_to_too_many_pixels_are_refused_from_the_header(
    session_factory: Factory, media_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """9,400 x 9,400 is under Pillow's own limit; decoding it took 340 MB and 1.5 s."""
    (tmp_path / "bomb.png").write_bytes(one_colour_png(9400, 9400))  # 11 KB
    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def recording_load(image: ImageFile.ImageFile) -> Any:
        decoded.append(image.size)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    report = await import_pictures(session_factory, tmp_path, media_dir, "bomb.png")

    assert problems(report) == [(2, "image", "image_bomb")]
    assert "88,360,000 pixels; at most 16,000,000" in report.errors[0].message
    assert decoded == []  # refused from the header


async def test_a_big_jpeg_is_decoded_at_a_reduced_scale_and_kept(
    session_factory: Factory, session: AsyncSession, media_dir: Path, tmp_path: Path
) -> None:
    save(Image.new("L", (6400, 5200), 90), tmp_path / "camera.jpg", quality=50)  # 33 megapixels

    report = await import_pictures(session_factory, tmp_path, media_dir, "camera.jpg")

    assert report.ok, report.errors
    [stored] = await stored_pictures(session, media_dir)
    assert stored.size == (MAX_SIDE, MAX_SIDE * 5200 // 6400)


async def test_symlinks_may_not_lead_out_of_the_folder(
    session_factory: Factory, media_dir: Path, tmp_path: Path
) -> None:
    outside = save(Image.new("RGB", (50, 50), "green"), tmp_path / "private" / "secret.jpg")
    folder = tmp_path / "upload"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "escape.jpg").symlink_to(outside)
    (folder / "images" / "inside.jpg").symlink_to(
        save(Image.new("RGB", (50, 50), "blue"), folder / "real.jpg")
    )

    report = await import_pictures(
        session_factory, folder, media_dir, "images/inside.jpg", "images/escape.jpg"
    )

    assert problems(report) == [(3, "image", "image_outside_folder")]


async def test_a_failed_write_takes_the_stored_pictures_back(
    monkeypatch: pytest.MonkeyPatch,
    engine: AsyncEngine,
    session_factory: Factory,
    media_dir: Path,
    tmp_path: Path,
) -> None:
    save(Image.new("RGB", (50, 50), "green"), tmp_path / "a.jpg")
    real_place = shopbot.importer.core.place

    def place_then_fail(*args: Any) -> None:
        real_place(*args)
        raise OSError("disk full")

    monkeypatch.setattr(shopbot.importer.core, "place", place_then_fail)
    before = await dump(engine)

    with pytest.raises(OSError, match="disk full"):
        await import_pictures(session_factory, tmp_path, media_dir, "a.jpg")

    assert await dump(engine) == before
    assert snapshot(media_dir) == {}
