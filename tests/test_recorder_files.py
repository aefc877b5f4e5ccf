"""The recorder's files: selector maps edited without losing a person's comments, recipes that load,
values matched to the sample item and to secrets, and bad options refused before anything opens."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
import yaml

from runner.demo.sample_orders import write_orders_workbook
from runner import load_selector_map
from runner.project.recipe import parse_recipe
from runner.recorder.model import RecordedElement, RecordedStep, Recording
from runner.recorder.session import RecordingSession
from runner.recorder.values import ValueMatcher, read_sample, snake
from runner.recorder.web import candidate_dict, screen_name
from runner.recorder.writer import map_with_elements

MAP = """# A person's notes on this app: kept by the recorder.
app: shop
kind: web
elements:
  login:
    user:           # the user name field
      find:
        - css: "input[name=u]"

  orders:
    save:
      find:
        - role: button
          name: Save
"""


def test_new_elements_go_under_their_screens_and_the_comments_stay(tmp_path):
    added = [RecordedElement("login", "password", [{"css": "input[type=password]"}], secret=True),
             RecordedElement("invoice", "total", [{"xpath": "//td[normalize-space()='Total:']/following-sibling::td[1]"},
                                                   {"css": "body > table > tbody > tr:nth-of-type(2) > td"}],
                             frames=("main",), description="span: Total:")]
    path = tmp_path / "selectors" / "shop.yaml"
    path.parent.mkdir()
    path.write_text(map_with_elements(MAP, added))
    text = path.read_text()
    assert "# A person's notes on this app: kept by the recorder." in text and "# the user name field" in text
    selector_map = load_selector_map(path)
    assert list(selector_map.selectors) == ["login.user", "login.password", "orders.save", "invoice.total"]
    assert selector_map.get("login.password").secret
    total = selector_map.get("invoice.total")
    assert total.frame == ("main",) and [c.strategy for c in total.candidates] == ["xpath", "css"]
    assert text.index("password:") < text.index("orders:")  # inserted in the login block, not at the end


def test_a_recording_writes_a_recipe_that_loads_with_its_map(tmp_path):
    (tmp_path / "recipes").mkdir()
    recording = Recording("shop", "web", "http://127.0.0.1:9/")
    session = RecordingSession.open(recording, tmp_path / "recipes" / "buy.yaml", tmp_path / "selectors" / "shop.yaml",
                                    "buy", "Buy one thing", None, candidate_dict)
    user = session.new_element("login", "user", [{"css": "input[name=u]"}], ())
    password = session.new_element("login", "password", [{"css": "input[type=password]"}], ())
    again = session.new_element("login", "user", [{"css": "#other"}], ())
    assert again.name == "login.user_2"  # a second element with the same label gets its own name
    recording.add(RecordedStep("open", "{{ app.url }}/"))
    recording.add(RecordedStep("fill", {"target": user.name, "value": "x"}))
    recording.add(RecordedStep("fill", {"target": user.name, "value": "{{ app.user }}"}))  # typed again: kept once
    recording.add(RecordedStep("fill", {"target": password.name, "value": "{{ secrets.shop_password }}"},
                               "password field", password=True))
    recording.add(RecordedStep("click", again.name))
    session.save()
    session.check()
    recipe = parse_recipe(tmp_path / "recipes" / "buy.yaml", lambda app: load_selector_map(session.map_path))
    assert [s.action for s in recipe.steps] == ["open", "fill", "fill", "click"]
    assert recipe.steps[1].args.value == "{{ app.user }}" and recipe.secrets == {"shop_password"}
    assert all(s.when and s.when.visible == "login.password" for s in recipe.steps[1:])  # the sign-on block


def test_a_sign_on_in_two_steps_hangs_on_its_first_field():
    """Tryton asks for the user name, then, once that is answered, for the password in a dialog of its own: the
    password box is not on the screen yet when the user name's steps are looked at, so the whole sign-on runs
    while the user name field shows (it stays behind the password dialog), and not at all once signed on."""
    recording = Recording("erp", "web", "http://127.0.0.1:9/")
    for step in (RecordedStep("open", "{{ app.url }}/"),
                 RecordedStep("fill", {"target": "login.user_name", "value": "admin"}, form="0::/:1"),
                 RecordedStep("click", "login.login"),
                 RecordedStep("fill", {"target": "login.password", "value": "{{ secrets.erp_password }}"},
                              password=True, form="0::/:2"),
                 RecordedStep("press", {"key": "Enter", "target": "login.password"}),
                 RecordedStep("click", "home.menu")):
        recording.add(step)
    recording.mark_sign_on()
    assert [s.when for s in recording.steps] == [None] + [{"visible": "login.user_name"}] * 4 + [None]


def test_typed_values_become_item_fields_secrets_or_the_apps_user():
    matcher = ValueMatcher("billing", item={"order_ref": "SO-1", "quantity": 12, "unit_price": Decimal("45.50"),
                                            "ship_date": date(2026, 12, 9), "gift_wrap": True, "sku": "12"},
                           secrets={"supervisor_code": "S3CRET"}, app_user="clerk")
    assert matcher.typed("SO-1", False, "ref").template == "{{ item.order_ref }}"
    assert matcher.typed("45.50", False, "price").template == "{{ item.unit_price }}"
    assert matcher.typed("12/09/2026", False, "d").template == "{{ item.ship_date.strftime('%m/%d/%Y') }}"
    both = matcher.typed("12", False, "qty")
    assert both.template == "{{ item.quantity }}" and "item.sku" in both.comment  # the reviewer is told
    assert matcher.typed("S3CRET", False, "code").template == "{{ secrets.supervisor_code }}"
    assert matcher.typed(None, True, "password").template == "{{ secrets.billing_password }}"
    assert matcher.typed("clerk", False, "user").template == "{{ app.user }}"
    assert matcher.typed("as typed", False, "note").template == "as typed"
    assert matcher.checked(True).template == "{{ item.gift_wrap }}"
    assert snake("Ship date (MM/DD/YYYY):") == "ship_date_mm_dd_yyyy" and snake("Conf. #") == "conf_no"
    assert screen_name("BILLSYS 4.2 - Order entry", "/orders/new", ("main",)) == "order_entry"
    assert screen_name("BILLSYS 4.2", "/menu", ("menu",)) == "menu"
    # a site whose name ends its titles: the part the titles share is the site's, and a record's page is
    # named for its kind, never its data
    seen = frozenset({"Roundup issue tracker", "New Issue - Roundup issue tracker"})
    assert screen_name("New Issue - Roundup issue tracker", "/issue", (), seen) == "new_issue"
    assert screen_name("Issue 12: Printer jams - Roundup issue tracker", "/issue12", (), seen) == "issue"
    assert screen_name("", "/issue12", ()) == "issue" and screen_name("", "/", ()) == "home"
    # the first page, before any other title: its heading says which part of the title is the page's
    assert screen_name("List of issues - Roundup issue tracker", "/", (), heading="List of issues") == "list_of_issues"
    joined = ValueMatcher("tracker", item={"ref": "HD-7", "summary": "Scanner offline"})
    assert joined.typed("HD-7 Scanner offline", False, "title").template == "{{ item.ref }} {{ item.summary }}"
    assert joined.typed("HD-7 - Scanner offline", False, "title").template == "{{ item.ref }} - {{ item.summary }}"


def test_a_sample_is_read_by_its_headers_or_through_a_bot(project, tmp_path):
    path = write_orders_workbook(tmp_path / "orders.xlsx", [["SO-9", "C004", "INK", 3, 2.5, date(2027, 1, 2),
                                                             "Rush", False, ""]])
    by_header = read_sample(path, project, None)
    assert by_header.data["order_ref"] == "SO-9" and by_header.data["unit_price"] == 2.5 and by_header.item is None
    through_bot = read_sample(path, project, "rekey-orders")
    assert through_bot.data["unit_price"] == Decimal("2.50") and through_bot.data["ship_date"] == date(2027, 1, 2)
    assert through_bot.item.reference == "SO-9"


def record(project, *args):
    return subprocess.run([sys.executable, "-m", "runner.cli", "record", *args], cwd=project,
                          env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120)


def test_bad_options_are_refused_before_a_browser_opens(project):
    existing = record(project, "web", "--app", "billing", "--url", "http://127.0.0.1:9/",
                      "--out", "recipes/enter-order.yaml")
    assert existing.returncode == 2 and "already exists" in existing.stderr and "--force" in existing.stderr
    wrong_kind = record(project, "web", "--app", "ledger", "--url", "http://127.0.0.1:9/", "--out", "recipes/x.yaml")
    assert wrong_kind.returncode == 2 and "desktop map" in wrong_kind.stderr
    not_yaml = record(project, "web", "--app", "billing", "--url", "http://127.0.0.1:9/", "--out", "recipes/x.txt")
    assert not_yaml.returncode == 2 and ".yaml" in not_yaml.stderr
    no_sample = record(project, "web", "--app", "billing", "--url", "http://127.0.0.1:9/", "--out", "recipes/x.yaml",
                       "--sample", "missing.xlsx")
    assert no_sample.returncode == 2 and "missing.xlsx" in no_sample.stderr
    assert not (project / "recipes" / "x.yaml").exists()
    assert yaml.safe_load((project / "selectors" / "billing.yaml").read_text())["app"] == "billing"


def test_an_action_the_recorder_cannot_capture_is_a_todo_where_it_happened_and_recording_goes_on(tmp_path):
    from runner.project.settings import Settings
    from runner.recorder.base import Recorder

    (tmp_path / "recipes").mkdir()
    recording = Recording("shop", "web", "http://127.0.0.1:9/")
    session = RecordingSession.open(recording, tmp_path / "recipes" / "buy.yaml", tmp_path / "selectors" / "shop.yaml",
                                    "buy", "Buy one thing", None, candidate_dict)
    said: list[str] = []
    recorder = Recorder(Settings(), session, ValueMatcher("shop"), None, say=said.append)
    save = session.new_element("orders", "save", [{"role": "button", "name": "Save"}], ())
    recording.add(RecordedStep("open", "{{ app.url }}/"))
    try:
        raise ValueError("the control at -3,40 is off the screen\nand a second line nobody needs")
    except ValueError as exc:
        recorder.could_not_record("click", exc)
    recording.add(RecordedStep("click", save.name))   # the recording carried on
    session.save()
    session.check()
    text = (tmp_path / "recipes" / "buy.yaml").read_text()
    assert "  # TODO: the recorder could not capture this click: the control at -3,40 is off the screen\n" in text
    assert text.index("open:") < text.index("# TODO") < text.index("click:")
    recipe = parse_recipe(tmp_path / "recipes" / "buy.yaml", lambda app: load_selector_map(session.map_path))
    assert [s.action for s in recipe.steps] == ["open", "click"]
    assert said == ["  could not record that click: the control at -3,40 is off the screen (a TODO marks it in the "
                    "recipe; details in logs/recorder.log)"]
    details = (tmp_path / "logs" / "recorder.log").read_text()
    assert "Traceback" in details and "a second line nobody needs" in details


def test_pictures_of_controls_at_the_screen_edge_are_cut_at_the_edge_not_an_error():
    import numpy as np

    from runner.drivers.screen_match import Box
    from runner.recorder.screen_crop import control_box, crop, label_box, unique_box

    screen = np.full((100, 200, 4), 220, np.uint8)
    screen[40, 0:30, :3] = screen[59, 0:30, :3] = 0
    screen[40:60, 29, :3] = 0                       # a field whose left side is the screen's edge
    field = control_box(screen, (5, 50))
    assert field.x == 0 and label_box(screen, field) is None
    assert crop(screen, Box(-5, 40, 20, 10)).shape == (10, 15, 4)
    grown = unique_box(screen, Box(-3, 95, 10, 10), 0.9)   # plain grey matches everywhere: it grows, inside
    assert grown.x >= 0 and grown.y >= 0 and grown.x + grown.width <= 200 and grown.y + grown.height <= 100
    with pytest.raises(ValueError, match="off the screen"):
        crop(screen, Box(300, 10, 20, 10))


def test_undo_takes_back_the_last_step_and_the_elements_only_it_used():
    recording = Recording("shop", "web", "http://127.0.0.1:9/")
    recording.add(RecordedStep("open", "{{ app.url }}/"))
    assert recording.undo() is None                      # the first page is where recording starts: kept
    save = RecordedElement("orders", "save", [{"role": "button", "name": "Save"}])
    stray = RecordedElement("orders", "notes_label", [{"text": "Notes:"}])
    recording.elements = {save.name: save, stray.name: stray}
    recording.add(RecordedStep("click", save.name))
    recording.add(RecordedStep("click", stray.name))
    assert recording.undo().target == "orders.notes_label"
    assert list(recording.elements) == ["orders.save"] and [s.action for s in recording.steps] == ["open", "click"]


def test_a_typed_value_is_a_secret_only_when_one_secret_of_this_app_has_it():
    """A password that happens to be another system's is not that system's secret; of several secrets with the
    value, the builder says which (asked in a terminal), else it becomes a secret of its own."""
    matcher = ValueMatcher("tracker", secrets={"ledger_password": "ar-1995", "supervisor_code": "S3"},
                           other_apps=frozenset({"ledger", "billing"}))
    shared = matcher.typed("ar-1995", True, "password")
    assert shared.template == "{{ secrets.tracker_password }}" and "ledger_password" in shared.comment
    assert "ar-1995" not in shared.template + shared.comment
    assert matcher.typed("S3", False, "code").template == "{{ secrets.supervisor_code }}"   # nobody else's
    assert matcher.typed("ar-1995", False, "note").template == "{{ secrets.tracker_note }}"  # never written as typed
    asked = []
    two = ValueMatcher("tracker", secrets={"tracker_password": "pw", "tracker_admin": "pw"},
                       ask=lambda element, names: asked.append((element, names)) or "tracker_admin")
    assert two.typed("pw", True, "password").template == "{{ secrets.tracker_admin }}"
    assert asked == [("password", ["tracker_admin", "tracker_password"])]
    unasked = ValueMatcher("tracker", secrets={"tracker_password": "pw", "tracker_admin": "pw"})
    assert "several secrets" in unasked.typed("pw", True, "login_password").comment
