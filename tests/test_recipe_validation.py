"""Recipes and selector maps are checked before a run: every problem names file and line."""

from __future__ import annotations

import textwrap

import pytest

from runner import RecipeError, SelectorMapError, load_recipe_book, load_selector_map
from runner.project.recipe import parse_recipe

MAP = """\
app: shop
elements:
  form:
    name:
      frame: main
      find:
        - label: Name
        - css: "input[name=n]"
    save:
      find:
        - role: button
          name: Save
"""


@pytest.fixture
def layout(tmp_path):
    (tmp_path / "selectors").mkdir()
    (tmp_path / "recipes").mkdir()
    (tmp_path / "selectors" / "shop.yaml").write_text(MAP)
    return tmp_path


def write_recipe(layout, name: str, body: str):
    path = layout / "recipes" / f"{name}.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def load(layout, *roots):
    return load_recipe_book(layout / "recipes", list(roots),
                            lambda app: load_selector_map(layout / "selectors" / f"{app}.yaml"))


def test_a_valid_recipe_keeps_its_lines_and_references(layout):
    write_recipe(layout, "enter", """\
        app: shop
        steps:
          - fill:
              target: form.name
              value: "{{ item.customer }} / {{ secrets.token }}"
          - click: form.save
    """)
    book = load(layout, "enter")
    recipe = book["enter"]
    assert [s.where for s in recipe.steps] == ["recipes/enter.yaml:3", "recipes/enter.yaml:6"]
    assert recipe.item_fields == {"customer"} and recipe.secrets == {"token"}
    assert recipe.steps[1].args.target == "form.save"


@pytest.mark.parametrize("body, expected", [
    ("app: shop\nsteps:\n  - fill: {target: form.name, value: x}\n  - clik: form.save\n",
     "recipes/bad.yaml:4: unknown step 'clik'"),
    ("app: shop\nsteps:\n  - fill:\n      target: form.name\n",
     "recipes/bad.yaml:4: 'value' is required"),
    ("app: shop\nsteps:\n  - click: form.nope\n",
     "recipes/bad.yaml:3: selector 'form.nope' is not in selectors/shop.yaml"),
    ("app: shop\nsteps:\n  - click: form.save\n  - fill: {target: form.name, value: '{{ item.x '}\n",
     "recipes/bad.yaml:4: template error"),
    ("app: shop\nsteps:\n  - click: form.save\n    open: http://x\n",
     "recipes/bad.yaml:3: a step needs exactly one action"),
    ("app: shop\nsteps:\n  - fill: {target: form.name, value: x, colour: red}\n",
     "recipes/bad.yaml:3: unknown key 'colour'"),
    ("app: shop\nsteps:\n  - wait_for: {target: form.name, text: Hello}\n",
     "recipes/bad.yaml:3: wait_for needs exactly one of target, text, any"),
    ("app: shop\nsteps: []\n", "recipes/bad.yaml:2: 'steps' must be a non-empty list"),
    ("app: nowhere\nsteps:\n  - click: a.b\n", "recipes/bad.yaml:1: app 'nowhere' has no selector map"),
    ("app: shop\nsteps:\n  - click: form.save\n   - click: form.save\n", "recipes/bad.yaml:4: YAML syntax error"),
    ("app: shop\nsteps:\n  - call: missing\n", "recipes/bad.yaml:3: recipe 'missing' not found"),
])
def test_problems_are_reported_as_file_line_message(layout, body, expected):
    (layout / "recipes" / "bad.yaml").write_text(body)
    with pytest.raises(RecipeError) as caught:
        load(layout, "bad")
    assert caught.value.message.startswith(expected), caught.value.message


def test_a_recipe_that_calls_itself_is_refused(layout):
    write_recipe(layout, "a", "app: shop\nsteps:\n  - call: b\n")
    write_recipe(layout, "b", "app: shop\nsteps:\n  - click: form.save\n  - call: a\n")
    with pytest.raises(RecipeError, match=r"recipes/b.yaml:4: recipe 'a' calls itself through a -> b -> a"):
        load(layout, "a")


@pytest.mark.parametrize("change, expected", [
    (("        - label: Name\n", "        - label: Name\n          css: x\n"), "selectors/shop.yaml:7: "),
    (("      find:\n        - role", "      finder:\n        - role"),
     "selectors/shop.yaml:9: 'find' is required\nselectors/shop.yaml:10: unknown key 'finder'"),
    (("app: shop", "app: other"), "selectors/shop.yaml:1: app 'other' must match the file name 'shop'"),
])
def test_selector_map_problems_name_the_line(layout, change, expected):
    path = layout / "selectors" / "shop.yaml"
    path.write_text(MAP.replace(*change))
    with pytest.raises(SelectorMapError) as caught:
        load_selector_map(path)
    assert caught.value.message.startswith(expected), caught.value.message


def test_selector_chain_order_and_frames(layout):
    selectors = load_selector_map(layout / "selectors" / "shop.yaml")
    name = selectors.get("form.name")
    assert name.frame == ("main",)
    assert [c.describe() for c in name.candidates] == ["label='Name'", "css='input[name=n]'"]
    assert name.source == "selectors/shop.yaml:4"


def test_parse_without_a_map_still_checks_steps(layout):
    path = write_recipe(layout, "loose", "app: shop\nsteps:\n  - press: Enter\n")
    recipe = parse_recipe(path, None)
    assert recipe.steps[0].args.key == "Enter"


def test_verify_and_expect_are_checked_where_they_are_written(layout):
    write_recipe(layout, "enter", """\
        app: shop
        steps:
          - fill: {target: form.name, value: "{{ item.amount }}", expect: "{{ item.amount }}.00"}
          - fill: {target: form.name, value: "x"}
            verify: false
    """)
    steps = load(layout, "enter")["enter"].steps
    assert steps[0].verify and steps[0].args.expect == "{{ item.amount }}.00"
    assert not steps[1].verify
    write_recipe(layout, "bad", """\
        app: shop
        steps:
          - click: form.save
            verify: false
    """)
    with pytest.raises(RecipeError, match=r"recipes/bad.yaml:4: verify goes with fill, select, check"):
        load(layout, "bad")
    write_recipe(layout, "bad2", """\
        app: shop
        steps:
          - fill: {target: form.name, value: "x"}
            verify: maybe
    """)
    with pytest.raises(RecipeError, match=r"recipes/bad2.yaml:4: verify is true or false"):
        load(layout, "bad2")


def test_a_press_names_a_screen_of_a_desktop_map_only(layout):
    write_recipe(layout, "keys", """\
        app: shop
        steps:
          - press: {key: Enter, screen: form}
    """)
    with pytest.raises(RecipeError, match=r"recipes/keys.yaml:3: 'screen' on a press is for desktop apps"):
        load(layout, "keys")
    (layout / "selectors" / "shop.yaml").write_text(MAP + "screens:\n  form:\n    window: Shop\n")
    with pytest.raises(SelectorMapError, match="'window' and 'screens' belong to desktop maps"):
        load(layout, "keys")


def test_read_back_judges_what_a_control_holds():
    from runner.engine.readback import TypedValue, judge, mismatch
    from runner.project.selector_map import Selector

    field = Selector("post.amount", ())
    assert judge(TypedValue(field, "fill", "12.50"), "12.50").ok
    assert not judge(TypedValue(field, "fill", "12.50"), "1250").ok
    assert judge(TypedValue(field, "fill", "a\nb"), "a\r\nb").ok  # a text area's line ends
    assert judge(TypedValue(field, "select", "Rush"), ["R", "Rush", "Rush"]).ok
    assert not judge(TypedValue(field, "select", "Rush"), ["N", "Normal", "Normal"]).ok
    assert judge(TypedValue(field, "check", True), True).ok and not judge(TypedValue(field, "check", False), True).ok
    secret = TypedValue(field, "fill", "hunter22", secret=True, shown="****")
    assert judge(secret, "********").how == "length"  # a password box copies as one * per character
    wrong = judge(secret, "*******")
    assert not wrong.ok and "hunter" not in mismatch(secret, wrong, retyped=True)
    assert mismatch(TypedValue(field, "fill", "C1011", shown="C1011"), judge(TypedValue(field, "fill", "C1011"), "C101"),
                     retyped=False) == "'post.amount' holds 'C101'; it should hold 'C1011'"


def test_a_field_that_reformats_is_judged_by_its_expect_template():
    from runner.engine.readback import TypedValue, judge
    from runner.project.selector_map import Selector

    amount = TypedValue(Selector("invoice.net_amount", ()), "fill", "1,234.50", shown="1,234.50", typed="1234.50")
    assert judge(amount, "1234.50").ok      # still as typed: the field has not been left yet
    assert judge(amount, "1,234.50").ok     # as the application shows it once it is left
    assert not judge(amount, "1,234.5").ok and not judge(amount, "234.50").ok
