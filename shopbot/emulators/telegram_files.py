"""Files of the Telegram emulator: uploads kept in memory under Telegram-like file ids.

A photo is stored the way Telegram stores one: the original plus JPEG thumbnails, each a
``PhotoSize`` with its own ``file_id``; any of those ids reuses the whole photo.
"""

from __future__ import annotations

import io
import itertools
import mimetypes
import secrets
from dataclasses import dataclass
from typing import Any

from PIL import Image

from shopbot.emulators.telegram_format import ApiFailure, bad_request

PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES_SUM = 10_000
PHOTO_MAX_RATIO = 20
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024
DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024
_THUMBNAIL_SIDES = (90, 320, 800)
_IMAGE_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str

    def as_file(self) -> dict[str, Any]:
        """The ``File`` object ``getFile`` returns."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


class FileStore:
    """Every file the bot uploaded or a user sent, by ``file_id`` and by download path."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._photos: dict[str, list[dict[str, Any]]] = {}
        self._documents: dict[str, dict[str, Any]] = {}
        self._sequence = itertools.count(1)

    def get(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._paths.get(file_path)

    def photo(self, file_id: str) -> list[dict[str, Any]] | None:
        """All sizes of the photo one of whose sizes has ``file_id``."""
        return self._photos.get(file_id)

    def document(self, file_id: str) -> dict[str, Any] | None:
        return self._documents.get(file_id)

    def add_document(self, content: bytes, filename: str, mime_type: str | None) -> dict[str, Any]:
        if not content:
            raise bad_request("file must be non-empty")
        if len(content) > DOCUMENT_MAX_BYTES:
            raise ApiFailure(413, "Request Entity Too Large")
        extension = filename.rpartition(".")[2] if "." in filename else "bin"
        stored = self._store("BQACAgIAAxkBAAI", content, f"documents/file_{{}}.{extension}")
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type
            or mimetypes.guess_type(filename)[0]
            or "application/octet-stream",
            "file_size": len(content),
        }
        self._documents[stored.file_id] = document
        return document

    def add_photo(self, content: bytes) -> list[dict[str, Any]]:
        """Store an uploaded photo; refuse it like Telegram when it is not a usable image."""
        if not content:
            raise bad_request("file must be non-empty")
        if len(content) > PHOTO_MAX_BYTES:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        try:
            image = Image.open(io.BytesIO(content))
        except (OSError, Image.DecompressionBombError):
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        width, height = image.size
        if width + height > PHOTO_MAX_SIDES_SUM or max(width, height) > PHOTO_MAX_RATIO * min(
            width, height
        ):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        try:
            pixels = image.convert("RGB")
        except (OSError, ValueError):
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        extension = _IMAGE_EXTENSIONS.get(image.format or "", "jpg")
        sizes = []
        for side in _THUMBNAIL_SIDES:
            if max(width, height) > side:
                thumbnail = pixels.copy()
                thumbnail.thumbnail((side, side))
                buffer = io.BytesIO()
                thumbnail.save(buffer, "JPEG", quality=80)
                sizes.append(self._photo_size(buffer.getvalue(), "jpg", thumbnail.size))
        sizes.append(self._photo_size(content, extension, (width, height)))
        for size in sizes:
            self._photos[size["file_id"]] = sizes
        return sizes

    def _photo_size(
        self, content: bytes, extension: str, dimensions: tuple[int, int]
    ) -> dict[str, Any]:
        stored = self._store("AgACAgIAAxkBAAI", content, f"photos/file_{{}}.{extension}")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(content),
            "width": dimensions[0],
            "height": dimensions[1],
        }

    def _store(self, prefix: str, content: bytes, path_template: str) -> StoredFile:
        number = next(self._sequence)
        stored = StoredFile(
            file_id=prefix + secrets.token_urlsafe(36),
            file_unique_id="AQAD" + secrets.token_urlsafe(9),
            content=content,
            file_path=path_template.format(number),
        )
        self._files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored
