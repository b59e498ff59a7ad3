"""Product pictures: find or download them, normalise them with Pillow, store them once.

A picture is stored as ``products/<sha256[:2]>/<sha256>.jpg`` (relative to the media folder),
where the hash is of the *normalised* JPEG, so the same picture is stored once however many
products, files or URLs it comes from. Normalising is CPU work and runs in worker threads.

A URL must lead to the public internet (unless ``allow_private_urls``): no user:password,
and every address its host resolves to, at every redirect hop, must be public. The check is
made by the resolver the connection uses, so a name cannot resolve to a public address for
the check and to a private one for the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import re
import secrets
import shutil
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from yarl import URL

from shopbot.i18n import N_, Text
from shopbot.importer.base import MB, ImportOptions

# Telegram takes photos up to 10 MB with width + height <= 10000 and sides at most 20:1.
MAX_SIDE = 2560
MAX_ASPECT = 20
JPEG_QUALITY = 85
STORE_FOLDER = "products"
# Pixels a picture may decode to, after JPEG's reduced-scale decoding. Pillow's own limit
# (89 million) let a 9,400 x 9,400 PNG of 86 KB through: 340 MB and 1.5 s to decode. At 16
# million an RGBA PNG peaks near 260 MB; a 50-megapixel JPEG decodes at half scale (12.5).
MAX_DECODED_PIXELS = 16_000_000
WORKERS = 2  # decoded pictures are big; more threads would mostly add memory
DOWNLOADS = 4
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRejected(Exception):
    """A picture that cannot be used; ``code`` is the problem code for the report, ``text``
    what is wrong with it, said after the picture's name ("is not a picture…")."""

    def __init__(self, code: str, template: str, **params: object) -> None:
        self.code = code
        self.text = Text(template, params)
        super().__init__(self.text.render("en"))


@dataclass(frozen=True)
class StoredImage:
    """A normalised picture, staged in a temporary folder until the import is written."""

    path: str  # relative to the media folder
    staged: Path


def is_url(reference: str) -> bool:
    return _URL.match(reference) is not None


def is_public(address: IPv4Address | IPv6Address) -> bool:
    """Is this an address of the public internet (not the shop's own machine or network)?"""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _private(host: str, address: str) -> ImageRejected:
    where = host if host == address else f"{host} ({address})"
    return ImageRejected(
        "private_url",
        N_(
            "points at {where}, an address of this machine or a private network; "
            "set IMPORT_ALLOW_PRIVATE_URLS=1 to allow that"
        ),
        where=where,
    )


class PublicResolver(AbstractResolver):
    """aiohttp's resolver, refusing a name when any of its addresses is not public."""

    def __init__(self) -> None:
        self.resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.resolver.resolve(host, port, family)
        for result in found:
            if not is_public(ip_address(result["host"])):
                raise _private(host, result["host"])
        return found

    async def close(self) -> None:
        await self.resolver.close()


def normalise(data: bytes) -> bytes:
    """An upright RGB JPEG without metadata, longest side at most ``MAX_SIDE``.

    Decompression bombs (more than ``Image.MAX_IMAGE_PIXELS``, where Pillow would only
    warn, or more than ``MAX_DECODED_PIXELS`` once a JPEG's reduced-scale decoding is
    chosen) are refused from the header, before anything is decoded.
    """
    try:
        return _normalise(data)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb(Text(N_("over twice the limit"))) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected("bad_image", N_("is not a picture Pillow can read")) from exc
    except Exception as exc:  # broken files fail deep in Pillow's decoders in many ways
        raise ImageRejected(
            "bad_image", N_("is damaged or unsupported ({detail})"), detail=str(exc)
        ) from exc


def _normalise(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        limit = Image.MAX_IMAGE_PIXELS
        if limit and width * height > limit:
            raise _bomb(f"{width}x{height}")
        if max(width, height) > MAX_ASPECT * min(width, height):
            raise ImageRejected(
                "bad_image",
                N_(
                    "is {size}; Telegram refuses pictures with one side more than {most} "
                    "times the other"
                ),
                size=f"{width}x{height}",
                most=MAX_ASPECT,
            )
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale
        decoded_width, decoded_height = image.size
        if decoded_width * decoded_height > MAX_DECODED_PIXELS:
            raise ImageRejected(
                "image_bomb",
                N_(
                    "is {size}, which decodes to {pixels} pixels; at most {most} are decoded "
                    "(scale it down: {side} pixels a side is all a product picture needs)"
                ),
                size=f"{width}x{height}",
                pixels=decoded_width * decoded_height,
                most=MAX_DECODED_PIXELS,
                side=MAX_SIDE,
            )
        icc_profile = image.info.get("icc_profile")
        picture = _to_srgb(_flatten(ImageOps.exif_transpose(image)), icc_profile)
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    picture.info = {}  # JPEG saving would carry a comment over from here
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _bomb(size: str | Text) -> ImageRejected:
    return ImageRejected(
        "image_bomb",
        N_(
            "has too many pixels ({size}); more than {most} is refused as a possible "
            "decompression bomb"
        ),
        size=size,
        most=Image.MAX_IMAGE_PIXELS,
    )


def _flatten(picture: Image.Image) -> Image.Image:
    """Transparent parts become white (converted straight to RGB they would turn black)."""
    if not picture.has_transparency_data:
        return picture
    rgba = picture.convert("RGBA")
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _to_srgb(picture: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Apply an embedded colour profile (phone photos are often Display P3, CMYK from print)
    before the profile is stripped, so colours stay right; fall back to a plain conversion."""
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(picture, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None
        if converted is not None:
            return converted
    return picture if picture.mode == "RGB" else picture.convert("RGB")


def stored_path(jpeg: bytes) -> str:
    digest = hashlib.sha256(jpeg).hexdigest()
    return f"{STORE_FOLDER}/{digest[:2]}/{digest}.jpg"


def resolve_local(base_dir: Path, reference: str) -> Path:
    """The file a relative reference names, refusing anything that leaves ``base_dir``.

    Backslashes count as separators (Windows users write them); absolute paths, ``..``
    escapes and symlinks pointing outside are all refused.
    """
    text = reference.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise ImageRejected(
            "image_outside_folder", N_("is an absolute path; give a path relative to the CSV file")
        )
    try:
        base = base_dir.resolve()
        path = (base / PurePosixPath(text)).resolve()
        if not path.is_relative_to(base):
            raise ImageRejected(
                "image_outside_folder", N_("points outside the folder {folder}"), folder=str(base)
            )
        if not path.is_file():
            raise ImageRejected("missing_image", N_("was not found in {folder}"), folder=str(base))
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long, no permission
        raise ImageRejected(
            "missing_image", N_("cannot be opened ({detail})"), detail=str(exc)
        ) from exc
    return path


class ImageLoader:
    """Loads each distinct reference once: file or URL, normalised in a worker thread."""

    def __init__(self, options: ImportOptions, staging: Path) -> None:
        self.options = options
        self.staging = staging
        self.executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="shopbot-image")
        self.downloads = asyncio.Semaphore(DOWNLOADS)
        self.http: aiohttp.ClientSession | None = None

    async def load_all(
        self, references: Iterable[str], done: Callable[[], None]
    ) -> dict[str, StoredImage | ImageRejected]:
        async def one(reference: str) -> StoredImage | ImageRejected:
            try:
                return await self.load(reference)
            except ImageRejected as exc:
                return exc
            finally:
                done()

        unique = list(dict.fromkeys(references))
        try:
            results = await asyncio.gather(*(one(reference) for reference in unique))
        finally:
            self.executor.shutdown(wait=False, cancel_futures=True)
            if self.http is not None:
                await self.http.close()
        return dict(zip(unique, results, strict=True))

    async def load(self, reference: str) -> StoredImage:
        loop = asyncio.get_running_loop()
        if not is_url(reference):
            return await loop.run_in_executor(self.executor, self._load_file, reference)
        data = await self._download(reference)
        try:
            return await loop.run_in_executor(self.executor, self._store, data)
        except ImageRejected as exc:
            if exc.code == "bad_image":  # for a URL, "not a usable picture" is a bad URL
                raise ImageRejected(
                    "bad_url", N_("did not give a usable picture: it {reason}"), reason=exc.text
                ) from exc
            raise

    def _load_file(self, reference: str) -> StoredImage:
        if self.options.base_dir is None:
            raise ImageRejected(
                "missing_image", N_("cannot be found: the file came without a folder of pictures")
            )
        path = resolve_local(self.options.base_dir, reference)
        limit = self.options.max_image_bytes
        try:
            with path.open("rb") as file:
                data = file.read(limit + 1)
        except OSError as exc:
            raise ImageRejected(
                "missing_image", N_("cannot be read ({detail})"), detail=str(exc)
            ) from exc
        if len(data) > limit:
            raise ImageRejected(
                "image_too_large",
                N_("is larger than {size} MB, the most an image may be"),
                size=f"{limit / MB:g}",
            )
        return self._store(data)

    def _store(self, data: bytes) -> StoredImage:
        jpeg = normalise(data)
        path = stored_path(jpeg)
        staged = self.staging / PurePosixPath(path).name
        staged.write_bytes(jpeg)
        return StoredImage(path, staged)

    async def _download(self, url: str) -> bytes:
        if not self.options.allow_urls:
            raise ImageRejected("bad_url", N_("is a URL, and URLs are not allowed here"))
        if self.http is None:
            connector = None
            if not self.options.allow_private_urls:
                connector = aiohttp.TCPConnector(resolver=PublicResolver(), use_dns_cache=False)
            self.http = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.options.url_timeout),
            )
        limit = self.options.max_image_bytes
        too_big = ImageRejected("bad_url", N_("gives more than {size} MB"), size=f"{limit / MB:g}")
        async with self.downloads:
            try:
                # Redirects are followed here, each hop checked like the first URL.
                target = self._checked(url)
                for _hop in range(MAX_REDIRECTS + 1):
                    async with self.http.get(target, allow_redirects=False) as response:
                        location = response.headers.get("Location")
                        if response.status in REDIRECTS and location:
                            target = self._checked(str(response.url.join(URL(location))))
                            continue
                        if response.status != 200:
                            raise ImageRejected(
                                "bad_url", N_("answered HTTP {status}"), status=str(response.status)
                            )
                        if (response.content_length or 0) > limit:
                            raise too_big
                        body = bytearray()
                        async for chunk in response.content.iter_chunked(256 * 1024):
                            body += chunk
                            if len(body) > limit:
                                raise too_big
                        return bytes(body)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                if isinstance(exc, TimeoutError):
                    raise ImageRejected(
                        "bad_url", N_("could not be downloaded (timed out)")
                    ) from exc
                raise ImageRejected(
                    "bad_url",
                    N_("could not be downloaded ({detail})"),
                    detail=str(exc) or repr(exc),
                ) from exc
        raise ImageRejected("bad_url", N_("redirects more than {most} times"), most=MAX_REDIRECTS)

    def _checked(self, url: str) -> URL:
        """``url`` if it may be fetched: http(s) with a host and, unless private URLs are
        allowed, no user:password and no literal private address (names are checked when
        they are resolved, by :class:`PublicResolver`)."""
        try:
            parts = urlsplit(url)
            valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid or parts.hostname is None:
            raise ImageRejected("bad_url", N_("is not an http(s) URL ({url})"), url=url[:100])
        if not self.options.allow_private_urls:
            if parts.username is not None or parts.password is not None:
                raise ImageRejected(
                    "private_url",
                    N_(
                        "carries a user name or password; set IMPORT_ALLOW_PRIVATE_URLS=1 "
                        "to allow that"
                    ),
                )
            try:
                literal = ip_address(parts.hostname)
            except ValueError:
                literal = None
            if literal is not None and not is_public(literal):
                raise _private(parts.hostname, parts.hostname)
        return URL(url, encoded=False)


def place(images: Iterable[StoredImage], media_dir: Path, created: list[Path]) -> None:
    """Copy staged pictures into the media folder, each file appearing whole (rename).

    Every folder and file made is appended to ``created`` as it is made, so a failed
    import can take them back with :func:`remove` even if this stops half-way.
    """
    for image in images:
        target = media_dir / image.path
        if target.exists():
            continue
        for folder in (media_dir, target.parent.parent, target.parent):
            if not folder.exists():
                folder.mkdir()
                created.append(folder)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        shutil.copyfile(image.staged, partial)
        os.replace(partial, target)
        created.append(target)


def remove(created: list[Path]) -> None:
    for path in reversed(created):
        if path.is_dir():
            with contextlib.suppress(OSError):  # not empty: someone else stored a file there
                path.rmdir()
        else:
            path.unlink(missing_ok=True)
