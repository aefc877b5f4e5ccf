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
    ("app: shop\nsteps:\n  - click: form.save\n  - press: Ctrl+Sx\n",
     "recipes/bad.yaml:4: unknown modifier (Shift, Control, Alt, Meta) 'Ctrl' in 'Ctrl+Sx'; did you mean 'Control'?"),
    ("app: shop\nsteps:\n  - press: Control+Sx\n", "recipes/bad.yaml:3: unknown key 'Sx' in 'Control+Sx'"),
    ("app: shop\nsteps:\n  - press: enter\n", "recipes/bad.yaml:3: unknown key 'enter' in 'enter'; did you mean 'Enter'?"),
    ("app: shop\nsteps:\n  - press: Control++\n", "recipes/bad.yaml:3: 'Control++' has an empty part"),
    ("app: shop\nsteps:\n  - fill: {target: form.name, value: '{{ item.x | uper }}'}\n",
     "recipes/bad.yaml:3: template error: no filter named 'uper'; did you mean 'upper'?"),
])
def test_problems_are_reported_as_file_line_message(layout, body, expected):
    (layout / "recipes" / "bad.yaml").write_text(body)
    with pytest.raises(RecipeError) as caught:
        load(layout, "bad")
    assert caught.value.message.startswith(expected), caught.value.message


def test_good_keys_templates_and_locators_pass(layout):
    path = layout / "selectors" / "shop.yaml"
    path.write_text(MAP.replace('- css: "input[name=n]"', '- css: "form >> input:has-text(\'{{ item.x }}\')"\n'
                                '        - xpath: "//tr[td=\'{{ item.x }}\']//input"'))
    write_recipe(layout, "fine", """\
        app: shop
        steps:
          - press: Control+S
          - press: {key: ArrowDown, target: form.name}
          - press: "+"
          - fill: {target: form.name, value: "{{ item.x | upper | replace('A', 'B') }}"}
    """)
    assert len(load(layout, "fine")["fine"].steps) == 4


def test_desktop_keys_take_the_short_forms_a_clerk_types(tmp_path):
    from runner.project.keys import key_problem

    assert [key_problem(k, "desktop") for k in ("Ctrl+S", "Esc", "Up", "F3", "control+shift+a", "Return")] == [None] * 6
    assert key_problem("Ctrl+Sx", "desktop") == "unknown key 'Sx' in 'Ctrl+Sx'"
    assert key_problem("Ctl+S", "desktop") == \
        "unknown modifier (Shift, Control, Alt, Meta) 'Ctl' in 'Ctl+S'; did you mean 'ctrl'?"
    assert key_problem("Up", "web") == "unknown key 'Up' in 'Up'"


@pytest.mark.parametrize("candidate, says", [
    ("- anchor: a.png\n          offset: [159]", "offset needs two whole numbers, dx and dy, such as [120, 0]; got [159]"),
    ("- point: [10, x]", "point needs two whole numbers, x and y"),
    ("- image: a.png\n          region: [0, 0, 10]", "region needs four whole numbers, x, y, width and height"),
])
def test_desktop_numbers_out_of_shape_are_said_in_words(tmp_path, candidate, says):
    (tmp_path / "selectors").mkdir()
    path = tmp_path / "selectors" / "desk.yaml"
    path.write_text(f"app: desk\nkind: desktop\nwindow: Desk\nelements:\n  main:\n    ok:\n      find:\n        {candidate}\n")
    with pytest.raises(SelectorMapError) as caught:
        load_selector_map(path)
    line = 8 + candidate.count("\n")   # the line of the value out of shape
    assert caught.value.message.startswith(f"selectors/desk.yaml:{line}: ") and says in caught.value.message, \
        caught.value.message


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
    (('- css: "input[name=n]"', '- css: "input[name=n"'), "selectors/shop.yaml:8: "),
    (('- css: "input[name=n]"', '- xpath: "//input[@name="'), "selectors/shop.yaml:8: "),
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
