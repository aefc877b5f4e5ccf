"""Pictures of the controls a builder clicks: the control's box, its label, and unique crops of them.

A desktop screen has no DOM: the recorder finds the control under a click from the picture of the
screen taken just before it (the smallest bordered box around the point), the label of an input
field from the ink to its left, and grows a crop until it matches exactly one place on the screen.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..drivers.screen_match import Box, ScreenImage, find_template

MIN_SIZE = (12, 10)
MAX_SIZE = (1600, 160)    # a text field may span a wide dialog
LABEL_REACH = 240          # how far left of a field its label may start
WORD_GAP = 12              # columns without ink that end a label
FLAT_SPREAD = 6.0          # grey levels: a picture that varies less than this shows nothing to find
LANDMARKS_TRIED = 12       # the nearest things looked at when looking for one that is unique


def gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY) if image.ndim == 3 else image


def control_box(screen: np.ndarray, point: tuple[int, int]) -> Box:
    """The smallest bordered rectangle around the point (a button, a field), else a box around it."""
    x, y = point
    edges = cv2.Canny(gray(screen), 40, 120)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    best: Box | None = None
    for contour in contours:
        bx, by, bw, bh = cv2.boundingRect(contour)
        if not (bx <= x < bx + bw and by <= y < by + bh):
            continue
        if bw < MIN_SIZE[0] or bh < MIN_SIZE[1] or bw > MAX_SIZE[0] or bh > MAX_SIZE[1]:
            continue
        if best is None or bw * bh < best.width * best.height:
            best = Box(bx, by, bw, bh)
    if best is None:
        height, width = screen.shape[:2]
        left, top = max(0, x - 40), max(0, y - 12)
        best = Box(left, top, min(80, width - left), min(24, height - top))
    return best


def label_box(screen: np.ndarray, field: Box) -> Box | None:
    """The text just left of a field (its label), or None when there is no ink there."""
    g = gray(screen)
    left = max(0, field.x - LABEL_REACH)
    strip = g[field.y:field.y + field.height, left:max(left, field.x - 3)].astype(np.int16)
    if strip.size == 0:
        return None
    background = int(np.median(strip))
    ink = np.abs(strip - background) > 60
    columns = np.flatnonzero(ink.any(axis=0))
    if columns.size == 0:
        return None
    right = int(columns[-1])
    start = right
    for column in reversed(columns[:-1]):
        if start - int(column) > WORD_GAP:
            break
        start = int(column)
    rows = np.flatnonzero(ink[:, start:right + 1].any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1])
    return on_screen(screen, Box(left + start - 2, field.y + top - 2, right - start + 5, bottom - top + 5))


def on_screen(screen: np.ndarray, box: Box) -> Box | None:
    """The part of the box on the screen: a control at the window's or the screen's edge is cut there,
    never wrapped round or left empty."""
    height, width = screen.shape[:2]
    return box.clipped_to(Box(0, 0, width, height))


def crop(screen: np.ndarray, box: Box) -> np.ndarray:
    inside = on_screen(screen, box)
    if inside is None:
        raise ValueError(f"the control at {box.x},{box.y} is off the screen: no picture to take")
    return screen[inside.y:inside.y + inside.height, inside.x:inside.x + inside.width].copy()


def matches_on(screen: np.ndarray, template: np.ndarray, confidence: float) -> int:
    found, _ = find_template(ScreenImage(screen), gray(template), confidence, max_matches=3)
    return len(found)


def unique_box(screen: np.ndarray, box: Box, confidence: float, grow: int = 8, tries: int = 4) -> Box:
    """The box, grown a little at a time until its picture matches one place only."""
    height, width = screen.shape[:2]
    box = on_screen(screen, box) or box
    for _ in range(tries):
        if matches_on(screen, crop(screen, box), confidence) <= 1:
            return box
        left, top = max(0, box.x - grow), max(0, box.y - grow)
        box = Box(left, top, min(width, box.x + box.width + grow) - left, min(height, box.y + box.height + grow) - top)
    return box


def is_flat(screen: np.ndarray, box: Box) -> bool:
    """Whether the box shows no picture at all (an empty text area): it would match anywhere."""
    picture = gray(crop(screen, box))
    return picture.size == 0 or float(picture.std()) < FLAT_SPREAD


def landmark_near(screen: np.ndarray, point: tuple[int, int], within: Box | None, confidence: float) -> Box | None:
    """The nearest thing on the screen that looks like nothing else (an icon, a word, a frame's corner),
    to find a featureless spot by: a click into an empty text area is found from it by an offset."""
    area = on_screen(screen, within) if within is not None else None
    area = area or Box(0, 0, screen.shape[1], screen.shape[0])
    g = gray(screen)[area.y:area.y + area.height, area.x:area.x + area.width]
    ink = cv2.dilate(cv2.Canny(g, 40, 120), np.ones((5, 5), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    blobs = []
    for left, top, width, height, _ in stats[1:count]:
        if width < MIN_SIZE[0] or height < MIN_SIZE[1] or width > MAX_SIZE[0] or height > MAX_SIZE[1]:
            continue
        box = Box(area.x + int(left), area.y + int(top), int(width), int(height))
        cx, cy = box.center
        blobs.append(((cx - point[0]) ** 2 + (cy - point[1]) ** 2, box))
    for _, box in sorted(blobs, key=lambda pair: pair[0])[:LANDMARKS_TRIED]:
        if matches_on(screen, crop(screen, box), confidence) == 1:
            return box
    return None


def search_region(box: Box, screen: np.ndarray, margin: int = 40) -> list[int]:
    """Where to look first: the box with a margin, so the usual lookup grabs a small part of the screen."""
    height, width = screen.shape[:2]
    left, top = max(0, box.x - margin), max(0, box.y - margin)
    return [left, top, min(width, box.x + box.width + margin) - left, min(height, box.y + box.height + margin) - top]
