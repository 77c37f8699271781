"""Photos and voice notes on disk: content-addressed files (sha256 + extension) in one folder,
`media.dir`. A file's name is the only thing the database keeps; no name from a request or a
message is ever used as a path without matching NAME first."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

# "<64 hex digits>.<extension>": nothing else is a stored file's name.
NAME = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{2,5}")


@dataclass(frozen=True)
class StoredFile:
    name: str  # sha256 + extension, e.g. "9f86d0….png"
    sha256: str
    size: int


class MediaFiles:
    """The folder `media.dir`; None means this process keeps no media (no reads, no writes)."""

    def __init__(self, root: Path | str | None):
        self.root = Path(root) if root else None

    def _folder(self) -> Path:
        if self.root is None:
            raise RuntimeError("no media.dir configured for this process")
        return self.root

    def save(self, data: bytes, extension: str) -> StoredFile:
        """Store `data` under its SHA-256; saving the same bytes again changes nothing.

        Written to a temporary file and renamed, so a reader never sees half a file.
        """
        folder = self._folder()
        sha256 = hashlib.sha256(data).hexdigest()
        name = f"{sha256}.{extension}"
        if not NAME.fullmatch(name):
            raise ValueError(f"not a media file extension: {extension!r}")
        target = folder / name
        if not (target.exists() and target.stat().st_size == len(data)):
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temporary, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        return StoredFile(name, sha256, len(data))

    def path(self, name: str | None) -> Path | None:
        """The file called `name`, if the name is a stored file's name and the file exists."""
        if self.root is None or not name or not NAME.fullmatch(name):
            return None
        path = self.root / name
        return path if path.is_file() else None

    def read(self, name: str) -> bytes | None:
        """The bytes of the stored file `name`, or None."""
        path = self.path(name)
        return path.read_bytes() if path else None

    def delete(self, name: str) -> None:
        """Remove the stored file `name` (nothing if it is not there)."""
        if not NAME.fullmatch(name):
            raise ValueError("not a stored media file name")
        with contextlib.suppress(FileNotFoundError):
            (self._folder() / name).unlink()
