"""Which of a run's files may be handed to a person: only what the run sealed, unchanged.

A file is served when it is a regular file at its own name inside the run folder (no symbolic link
anywhere on its way), listed in the run's manifest, whose signature verifies, with the SHA-256 the
manifest gives. Anything placed in a run folder afterwards (a link to the signing key, a script
added to the report) is refused, whatever its name.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from .events import sha256_file, sha256_text
from .manifest import MANIFEST_FILE, canonical
from .signing import Verifier


class NotServable(Exception):
    """Why a file is not handed out (for the console's record of refusals)."""


def _regular_file_inside(run_dir: Path, name: str) -> Path:
    parts = Path(name).parts
    if not parts or any(p in ("", ".", "..") for p in parts) or Path(name).is_absolute():
        raise NotServable("not a file name inside the run folder")
    path = run_dir
    for part in parts:  # no symbolic link on the way: a link could lead anywhere
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            raise NotServable("no such file") from None
        if stat.S_ISLNK(mode):
            raise NotServable("a symbolic link, never sealed")
    if not stat.S_ISREG(mode):
        raise NotServable("not a regular file")
    if os.path.realpath(path) != os.path.join(os.path.realpath(run_dir), *parts):
        raise NotServable("leads outside the run folder")
    return path


_verified: dict[tuple[str, str], dict[str, str]] = {}   # (manifest text's SHA-256, key id) -> listing


def _sealed_listing(manifest_text: str, verifier: Verifier) -> dict[str, str]:
    """The artifacts of a manifest whose signature verifies (remembered by the manifest's exact text,
    so a page of thumbnails checks the signature once)."""
    key = (sha256_text(manifest_text), verifier.key_id)
    if key not in _verified:
        if len(_verified) > 512:
            _verified.clear()
        _verified[key] = _check_manifest(manifest_text, verifier)
    return _verified[key]


def _check_manifest(manifest_text: str, verifier: Verifier) -> dict[str, str]:
    try:
        manifest = json.loads(manifest_text)
    except ValueError:
        raise NotServable("the run's manifest is not valid JSON") from None
    signature = manifest.get("signature") or {}
    if signature.get("key_id") != verifier.key_id or not verifier.verify(canonical(manifest), str(signature.get("value", ""))):
        raise NotServable("the run's manifest does not verify")
    return {a["path"]: a["sha256"] for a in manifest.get("artifacts", [])}


def sealed_file(run_dir: Path, name: str, verifier: Verifier) -> Path:
    """The path of a sealed, unchanged file of the run; NotServable says why not."""
    run_dir = Path(run_dir)
    manifest_path = _regular_file_inside(run_dir, MANIFEST_FILE) if (run_dir / MANIFEST_FILE).exists() else None
    if manifest_path is None:
        raise NotServable("the run is not sealed (still running, or killed)")
    path = _regular_file_inside(run_dir, name)
    listing = _sealed_listing(manifest_path.read_text(encoding="utf-8"), verifier)
    relative = Path(name).as_posix()
    if relative not in listing:
        raise NotServable("not in the run's sealed manifest")
    if sha256_file(path) != listing[relative]:
        raise NotServable("changed since the run was sealed")
    return path
