"""LibreOffice in tests: recalculate a workbook's formulas, turn a document into PDF and PNG pages."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_libreoffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed "
                                       "(./quickstart.sh test installs it)")


def convert(path: Path, fmt: str, out_dir: Path) -> Path:
    """`soffice --convert-to`, with a private profile so parallel runs do not share a lock."""
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / ".lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                    "--outdir", str(out_dir), str(path)], check=True, capture_output=True, timeout=180)
    converted = out_dir / f"{path.stem}.{fmt.split(':')[0]}"
    assert converted.exists(), f"LibreOffice did not write {converted.name}"
    return converted


def recalculated(xlsx: Path, out_dir: Path) -> Path:
    """The workbook as LibreOffice computes it: formulas get their cached values."""
    return convert(xlsx, "xlsx", out_dir)


def pdf_pages_as_png(pdf: Path, out_dir: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(out_dir / pdf.stem)], check=True, timeout=60)
    return sorted(out_dir.glob(f"{pdf.stem}*.png"))


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
