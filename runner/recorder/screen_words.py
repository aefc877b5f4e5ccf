"""The words on a part of the screen, read with Tesseract: what names a desktop control or field.

A desktop screen has no accessible names to ask for, so the recorder reads the button's face or
the field's label the way a person would. Only words Tesseract is sure of count: an icon read as
noise must not become a name. Tesseract is a program of its own (Debian's tesseract-ocr); without
it the recorder names elements from what was typed into them and says so once.
"""

from __future__ import annotations

import re
import shutil

import cv2
import numpy as np

from ..drivers.screen_match import Box
from .screen_crop import crop, gray

SURE = 70          # Tesseract's confidence (0-100) below which a word is not taken
SCALE = 3          # screen text is small: Tesseract reads it best at about 30 px high
DOUBT = 15         # how much less sure than the best word another word may be read and still count
BORDER = 3         # pixels of a control's frame, left out when its face is read again


def tesseract_missing() -> str | None:
    """Why words cannot be read here, or None when they can."""
    if shutil.which("tesseract") is None:
        return "Tesseract is not installed (Debian: apt-get install tesseract-ocr)"
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return "pytesseract is not installed (pip install 'backroom[recorder]')"
    return None


def words_in(screen: np.ndarray, box: Box) -> str:
    """The words Tesseract reads with confidence in the box, one line, '' when none. A button's raised
    border can spoil a short word ("OK"), so the face inside the border is read when the whole is not."""
    words = _read(screen, box)
    if not words and box.width > 4 * BORDER and box.height > 4 * BORDER:
        words = _read(screen, Box(box.x + BORDER, box.y + BORDER, box.width - 2 * BORDER, box.height - 2 * BORDER))
    return words


def _read(screen: np.ndarray, box: Box) -> str:
    import pytesseract

    picture = gray(crop(screen, box))
    if picture.size == 0 or int(picture.max()) - int(picture.min()) < 40:
        return ""   # no ink: nothing to read
    if np.median(picture) < 128:   # light text on a dark face reads better turned round
        picture = 255 - picture
    picture = cv2.resize(picture, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)
    picture = cv2.copyMakeBorder(picture, 12, 12, 12, 12, cv2.BORDER_REPLICATE)
    data = pytesseract.image_to_data(picture, config="--psm 7", output_type=pytesseract.Output.DICT)
    read = [(word.strip(), float(sure)) for word, sure in zip(data["text"], data["conf"]) if word.strip()]
    best = max((sure for _, sure in read), default=0.0)
    # a label's words are read about as surely as each other; a stray mark beside them (an icon's
    # edge read as 'lal') is read much less surely than the word it stands beside
    words = [word for word, sure in read if sure >= max(SURE, best - DOUBT)]
    return " ".join(w for w in words if re.search(r"[A-Za-z]{2}", w))
