"""Finding controls on the screen by image: OpenCV template matching.

Matching is normalised cross-correlation (TM_CCOEFF_NORMED) on grayscale by default:
it ignores a uniform change of brightness or contrast, so a colour theme or a
slightly different anti-aliasing still matches above the confidence threshold,
while a different control does not. A candidate's search region is grabbed alone,
which is what makes a lookup cheap; without one the whole screen is searched.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

MAX_MATCHES = 2  # enough to tell "exactly one" from "ambiguous"
# A search this large (a whole screen) is split into horizontal bands matched side by side: OpenCV's
# matchTemplate uses one core and lets go of the GIL, and each window's score depends on its own pixels
# only, so the bands' scores, stacked, are the whole search's.
BANDED_FROM_PIXELS = 600_000
BANDS = max(1, min(os.cpu_count() or 1, 4))
_band_pool: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.width, self.height]

    def clipped_to(self, bounds: "Box") -> "Box | None":
        """The part of this box inside `bounds`, or None when they do not overlap."""
        left, top = max(self.x, bounds.x), max(self.y, bounds.y)
        right = min(self.x + self.width, bounds.x + bounds.width)
        bottom = min(self.y + self.height, bounds.y + bounds.height)
        return Box(left, top, right - left, bottom - top) if right > left and bottom > top else None


@dataclass(frozen=True)
class Match:
    box: Box
    score: float


class ScreenImage:
    """Pixels of the screen (or of a region of it) with their origin, converted once per use."""

    def __init__(self, bgra: np.ndarray, origin: tuple[int, int] = (0, 0)):
        self.bgra = bgra
        self.origin = origin
        self._gray: np.ndarray | None = None
        self._bgr: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.bgra.shape[1], self.bgra.shape[0]

    def pixels(self, grayscale: bool) -> np.ndarray:
        if grayscale:
            if self._gray is None:
                self._gray = cv2.cvtColor(self.bgra, cv2.COLOR_BGRA2GRAY)
            return self._gray
        if self._bgr is None:
            self._bgr = cv2.cvtColor(self.bgra, cv2.COLOR_BGRA2BGR)
        return self._bgr

    def crop(self, box: Box) -> "ScreenImage":
        """The part of this image inside `box` (screen coordinates), clipped to what this image holds."""
        ox, oy = self.origin
        part = box.clipped_to(Box(ox, oy, *self.size))
        if part is None:
            return ScreenImage(self.bgra[0:0, 0:0], (box.x, box.y))
        return ScreenImage(self.bgra[part.y - oy:part.y - oy + part.height, part.x - ox:part.x - ox + part.width],
                           (part.x, part.y))


@lru_cache(maxsize=512)
def _template(path: str, mtime: float, grayscale: bool) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path} is not an image OpenCV can read")
    return image


def load_template(path: Path, grayscale: bool) -> np.ndarray:
    path = Path(path)
    return _template(str(path), path.stat().st_mtime, grayscale)


def find_template(screen: ScreenImage, template: np.ndarray, confidence: float,
                  max_matches: int = MAX_MATCHES) -> tuple[list[Match], float]:
    """Up to `max_matches` distinct places where the template matches at `confidence` or better, best
    first, and the best score found anywhere (to say how close a miss was)."""
    haystack = screen.pixels(grayscale=template.ndim == 2)
    th, tw = template.shape[:2]
    if haystack.shape[0] < th or haystack.shape[1] < tw:
        return [], 0.0
    scores = _scores(haystack, template)
    scores[~np.isfinite(scores)] = -1.0  # flat areas have no correlation, not a perfect one
    ox, oy = screen.origin
    matches: list[Match] = []
    top = None
    for _ in range(max_matches):
        _, best, _, (x, y) = cv2.minMaxLoc(scores)
        top = float(best) if top is None else top
        if best < confidence:
            break
        matches.append(Match(Box(x + ox, y + oy, tw, th), float(best)))
        # blank out this match's neighbourhood so the next maximum is a different place
        scores[max(y - th // 2, 0):y + th // 2 + 1, max(x - tw // 2, 0):x + tw // 2 + 1] = -1.0
    return matches, top or 0.0



def _scores(haystack: np.ndarray, template: np.ndarray) -> np.ndarray:
    """TM_CCOEFF_NORMED scores of every place the template fits, a large haystack in bands at once."""
    global _band_pool
    th = template.shape[0]
    rows = haystack.shape[0] - th + 1   # rows of scores
    if BANDS == 1 or haystack.shape[0] * haystack.shape[1] < BANDED_FROM_PIXELS or rows < 2 * BANDS:
        return cv2.matchTemplate(haystack, template, cv2.TM_CCOEFF_NORMED)
    if _band_pool is None:
        _band_pool = ThreadPoolExecutor(BANDS, thread_name_prefix="screen-match")
    edges = [rows * n // BANDS for n in range(BANDS + 1)]

    def band(n: int) -> np.ndarray:   # the score rows edges[n]..edges[n+1], from the pixel rows they cover
        return cv2.matchTemplate(haystack[edges[n]:edges[n + 1] + th - 1], template, cv2.TM_CCOEFF_NORMED)

    return np.vstack(list(_band_pool.map(band, range(BANDS))))
