"""Input files uploaded on the console: checked (size, kind, content) and stored under logs/uploads/.

The stored name is made here (time, a random part, the original name made safe), so an
upload can never choose where it lands or overwrite another file.
"""

from __future__ import annotations

import secrets
import zipfile
from datetime import datetime
from pathlib import Path

from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from ..errors import InputFileError


class UploadRefused(InputFileError):
    hint = "Choose the bot's input file (an .xlsx workbook, or .csv where the bot reads one) and upload it again."


def _looks_like(path: Path, suffix: str) -> str | None:
    """Why the content is not what its name says, or None."""
    if suffix == ".xlsx":
        if not zipfile.is_zipfile(path):
            return "it is not an Excel workbook (.xlsx files are zip archives)"
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            return "it is a zip archive but not an Excel workbook"
        if "xl/vbaProject.bin" in names:
            return "it contains macros; save it as a plain .xlsx workbook"
        return None
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    if b"\x00" in head:
        return "it is not a text file"
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a character cut at the end of the sample is fine
            return "it is not UTF-8 text; save it as CSV UTF-8"
    return None


def store_upload(upload: FileStorage, folder: Path, allowed: tuple[str, ...], max_bytes: int) -> Path:
    original = upload.filename or ""
    name = secure_filename(original)
    suffix = Path(name).suffix.lower()
    if not name or suffix not in allowed:
        raise UploadRefused(f"upload {original or '(no file)'!r}: this bot reads {' or '.join(allowed)} files")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}-{name}"
    upload.save(path)
    size = path.stat().st_size
    problem = "it is empty" if size == 0 else \
        f"it is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB" if size > max_bytes else \
        _looks_like(path, suffix)
    if problem:
        path.unlink()
        raise UploadRefused(f"upload {original!r}: {problem}")
    return path
