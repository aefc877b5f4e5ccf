"""Desktop selectors: image matching on real pictures, map and recipe validation with file:line messages."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from runner.drivers.desktop import key_combo
from runner.drivers.screen_match import Box, ScreenImage, find_template, load_template
from runner.errors import RecipeError, SelectorMapError
from runner.project.recipe import parse_recipe
from runner.project.selector_map import load_selector_map

ROOT = Path(__file__).resolve().parent.parent
POST_BUTTON = ROOT / "selectors" / "ledger" / "post" / "button.png"
OK_BUTTON = ROOT / "selectors" / "ledger" / "dialog" / "ok.png"


def desktop_with(*placements: tuple[Path, int, int], size=(1024, 768), face=192) -> ScreenImage:
    """A grey screen with templates pasted at the given places (BGRA, as the screen grabber gives it)."""
    screen = np.full((size[1], size[0], 4), face, np.uint8)
    screen[:, :, 3] = 255
    for path, x, y in placements:
        picture = cv2.imread(str(path), cv2.IMREAD_COLOR)
        h, w = picture.shape[:2]
        screen[y:y + h, x:x + w, :3] = picture
    return ScreenImage(screen)


def test_a_template_is_found_where_it_is():
    matches, best = find_template(desktop_with((POST_BUTTON, 300, 200)), load_template(POST_BUTTON, True), 0.9)
    assert len(matches) == 1 and best > 0.99
    assert matches[0].box == Box(300, 200, *cv2.imread(str(POST_BUTTON)).shape[1::-1])


def test_small_rendering_differences_still_match():
    screen = desktop_with((POST_BUTTON, 300, 200))
    pixels = screen.bgra.astype(int)
    pixels[:, :, :3] = pixels[:, :, :3] * 0.8 + 30                          # another theme's brightness
    pixels[:, :, :3] += np.random.default_rng(1).integers(-12, 13, pixels[:, :, :3].shape)  # render noise
    shifted = ScreenImage(np.clip(pixels, 0, 255).astype(np.uint8))
    matches, _ = find_template(shifted, load_template(POST_BUTTON, True), 0.9)
    assert [m.box.center for m in matches] == [Box(300, 200, *cv2.imread(str(POST_BUTTON)).shape[1::-1]).center]


def test_another_control_does_not_match():
    matches, best = find_template(desktop_with((OK_BUTTON, 300, 200)), load_template(POST_BUTTON, True), 0.9)
    assert matches == [] and best < 0.9


def test_two_copies_are_reported_as_ambiguous():
    screen = desktop_with((POST_BUTTON, 100, 100), (POST_BUTTON, 500, 400))
    matches, _ = find_template(screen, load_template(POST_BUTTON, True), 0.9)
    assert sorted(m.box.x for m in matches) == [100, 500]


def test_a_whole_screen_searched_in_bands_scores_as_one_search():
    from runner.drivers import screen_match

    template = load_template(POST_BUTTON, True)
    th = template.shape[0]
    rows = 1080 - th + 1
    # one copy across the first band's edge, one wholly in the last band
    screen = desktop_with((POST_BUTTON, 700, rows // 2 - th // 2), (POST_BUTTON, 1500, 1000), size=(1920, 1080))
    noise = np.random.default_rng(3).integers(0, 40, screen.bgra.shape, dtype=np.uint8)
    screen = ScreenImage(np.maximum(screen.bgra, noise))
    gray = screen.pixels(grayscale=True)
    assert screen_match.BANDS == 1 or gray.size >= screen_match.BANDED_FROM_PIXELS
    whole = cv2.matchTemplate(gray, template, cv2.TM_CCOEFF_NORMED)
    banded = screen_match._scores(gray, template)
    assert banded.shape == whole.shape and np.allclose(banded, whole, atol=1e-3)  # float rounding only
    matches, _ = find_template(screen, template, 0.9)
    assert sorted((m.box.x, m.box.y) for m in matches) == [(700, rows // 2 - th // 2), (1500, 1000)]


def test_a_search_region_sees_only_its_part_of_the_screen():
    screen = desktop_with((POST_BUTTON, 600, 500))
    template = load_template(POST_BUTTON, True)
    assert find_template(screen.crop(Box(0, 0, 400, 400)), template, 0.9)[0] == []
    inside = find_template(screen.crop(Box(550, 450, 300, 150)), template, 0.9)[0]
    assert [m.box.x for m in inside] == [600]  # screen coordinates, not the region's


def test_key_names_as_on_the_web():
    assert key_combo("Control+Shift+S") == ["ctrl", "shift", "s"]
    assert key_combo("F3") == ["f3"]
    assert key_combo("Escape") == ["esc"]
    assert key_combo("+") == ["+"]


def test_the_ledger_map_loads_with_its_templates():
    ledger = load_selector_map(ROOT / "selectors" / "ledger.yaml")
    assert ledger.kind == "desktop" and ledger.window == "LEDGER/AR 3.1 - Accounts"
    assert ledger.windows_of("dialog")[0] == "LEDGER/AR 3.1 - Posted"
    assert ledger.get("dialog.ok").windows == ledger.windows_of("dialog")
    assert ledger.get("post.amount").windows == ("LEDGER/AR 3.1 - Accounts",)
    button = ledger.get("post.button")
    assert [c.strategy for c in button.candidates] == ["image", "image"]
    assert button.candidates[0].region is not None and button.candidates[1].region is None
    assert all(c.image_path.is_file() for s in ledger.selectors.values() for c in s.candidates if c.image_path)
    assert ledger.get("signon.password").secret


def write_map(folder: Path, body: str) -> Path:
    (folder / "selectors" / "shop").mkdir(parents=True, exist_ok=True)
    (folder / "selectors" / "shop" / "save.png").write_bytes(POST_BUTTON.read_bytes())
    path = folder / "selectors" / "shop.yaml"
    path.write_text("app: shop\nkind: desktop\nelements:\n  form:\n" + body)
    return path


@pytest.mark.parametrize("body, line, says", [
    ("    save:\n      find:\n        - image: missing.png\n", 7, "template image selectors/shop/missing.png not found"),
    ("    save:\n      find:\n        - image: save.png\n        - css: '#save'\n", 8, "'css' is for web maps"),
    ("    save:\n      find:\n        - image: save.png\n          offset: [10, 0]\n", 7, "'offset' goes with 'anchor'"),
    ("    save:\n      find:\n        - image: ../../etc/passwd\n", 7, "outside selectors/shop/"),
    ("    save:\n      find:\n        - image: save.png\n          confidence: 1.5\n", 8, "less than or equal to 1"),
])
def test_a_bad_desktop_map_names_the_line(tmp_path, body, line, says):
    with pytest.raises(SelectorMapError) as caught:
        load_selector_map(write_map(tmp_path, body))
    assert f"selectors/shop.yaml:{line}" in caught.value.message
    assert says in caught.value.message


def write_recipe(folder: Path, steps: str) -> Path:
    path = folder / "recipes" / "r.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("app: ledger\nsteps:\n" + steps)
    return path


@pytest.mark.parametrize("steps, line, says", [
    ("  - launch: ledger\n  - check: post.button\n", 4, "'check' is a web step"),
    ("  - open: http://example.com\n", 3, "'open' is a web step"),
    ("  - wait_for: {text: Posted}\n", 3, "text cannot be searched"),
    ("  - launch: billing\n", 3, "launch 'billing' in a recipe for app 'ledger'"),
    ("  - read: {target: dialog.message, into: ref, pattern: 'reference (P'}\n", 3, "not a valid regular expression"),
])
def test_a_step_a_desktop_screen_cannot_do_names_the_line(tmp_path, steps, line, says):
    ledger = load_selector_map(ROOT / "selectors" / "ledger.yaml")
    with pytest.raises(RecipeError) as caught:
        parse_recipe(write_recipe(tmp_path, steps), lambda app: ledger)
    assert re.search(rf"recipes/r\.yaml:{line}\b", caught.value.message), caught.value.message
    assert says in caught.value.message


def test_web_recipes_cannot_launch(tmp_path):
    billing = load_selector_map(ROOT / "selectors" / "billing.yaml")
    path = tmp_path / "recipes" / "w.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("app: billing\nsteps:\n  - launch: billing\n")
    with pytest.raises(RecipeError, match=r"recipes/w\.yaml:3: 'launch' is a desktop step"):
        parse_recipe(path, lambda app: billing)


def test_every_desktop_key_a_recipe_may_name_is_one_pyautogui_presses(screen):
    """The recipe loader's desktop key names (project/keys.py) and the driver's translation agree: a key
    that passes `backroom check` is a key pyautogui knows."""
    import pyautogui

    from runner.drivers.desktop import key_combo
    from runner.project.keys import DESKTOP_KEYS

    unknown = [name for name in sorted(DESKTOP_KEYS) if not all(pyautogui.isValidKey(k) for k in key_combo(name))]
    assert unknown == []
