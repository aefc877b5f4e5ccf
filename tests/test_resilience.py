"""What legacy screens do to bots: refuse data, answer "system busy", expire sessions, change controls."""

from __future__ import annotations

import json
import time

from runner.demo.sample_orders import write_orders_workbook
from runner import ExitCode, RunRequest, start_run

from .conftest import make_orders, orders_in_db, start_billing


def events_of(result) -> list[dict]:
    return [json.loads(line) for line in (result.run_dir / "events.jsonl").read_text().splitlines()]


def test_a_refused_order_goes_to_review_and_is_not_retried(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 3)
    rows[1][1] = "C013"  # a closed customer account
    write_orders_workbook(path, rows)
    result = start_run(RunRequest(bot="rekey-orders", input_path=path, project=project,
                                  app_urls={"billing": billing.url}))
    assert result.exit_code == ExitCode.ITEMS_FAILED
    refused = next(i for i in result.items if i.reference == rows[1][0])
    assert refused.outcome == "business_exception"
    assert refused.attempts == 1
    assert refused.message == "BILLSYS refused the order: ERROR: Customer account C013 is closed."
    assert {o["reference"] for o in orders_in_db(billing.settings.db_path)} == {rows[0][0], rows[2][0]}
    failed_step = next(e for e in events_of(result) if e["kind"] == "step" and e["outcome"] == "fail")
    assert failed_step["action"] == "fail_if" and failed_step["screenshot"]  # evidence of what the screen said


def allow_attempts(project, attempts: int, backoff: float = 0.1) -> None:
    bot = project / "bots" / "rekey-orders" / "bot.yaml"
    text = bot.read_text().replace("attempts: 3", f"attempts: {attempts}")
    text = text.replace("backoff_seconds: 1", f"backoff_seconds: {backoff}")
    bot.write_text(text)


def test_system_busy_pages_are_retried_until_every_order_is_keyed_once(project, secrets_env, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 6)
    allow_attempts(project, 10)
    with start_billing(tmp_path, busy_rate=0.12) as app:
        result = start_run(RunRequest(bot="rekey-orders", input_path=path, project=project,
                                      app_urls={"billing": app.url}))
    assert result.exit_code == ExitCode.OK, [i.message for i in result.items if i.outcome != "done"]
    keyed = [o["reference"] for o in orders_in_db(app.settings.db_path)]
    assert sorted(keyed) == sorted(r[0] for r in rows)
    retries = [e for e in events_of(result) if e["kind"] == "item" and e["outcome"] == "retrying"]
    assert retries, "with one page in eight busy, some items must have needed a second attempt"
    assert all("System busy" in e["message"] for e in retries)


def test_an_expired_session_is_signed_on_again(project, secrets_env, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 2)
    with start_billing(tmp_path, session_timeout_s=5.0) as app:
        def idle_after_first(progress):
            if progress.finished == 1 and progress.current is None:
                time.sleep(6.0)  # the clerk's session times out between the two orders
        result = start_run(RunRequest(bot="rekey-orders", input_path=path, project=project,
                                      app_urls={"billing": app.url}), on_progress=idle_after_first)
    assert result.exit_code == ExitCode.OK
    sign_ons = [e for e in events_of(result) if e.get("target") == "login.sign_on" and e["outcome"] == "pass"]
    assert [e["item"] for e in sign_ons] == [rows[0][0], rows[1][0]]
    assert len(orders_in_db(app.settings.db_path)) == 2


def test_changed_controls_heal_through_the_selector_chain(project, secrets_env, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 2)
    with start_billing(tmp_path, ui_version=2) as app:  # "Save" became "Save order", the confirmation moved
        result = start_run(RunRequest(bot="rekey-orders", input_path=path, project=project,
                                      app_urls={"billing": app.url}))
    assert result.exit_code == ExitCode.OK
    events = events_of(result)
    healed = {(e["target"], e["selector"]) for e in events if e.get("healed")}
    assert ("order.save", "css='input[type=submit][onclick*=confirm]'") in healed
    assert any(target == "order.confirmation" and selector.startswith("xpath=") for target, selector in healed)
    saved = {o["reference"]: o["confirmation"] for o in orders_in_db(app.settings.db_path)}
    assert {i.reference: i.variables["confirmation"] for i in result.items} == saved
    assert "healed" in (result.run_dir / "run.log").read_text()
    report = result.report_path.read_text()
    assert report.count('class="healed"') >= 4


def test_an_unexpected_confirm_question_is_never_accepted(project, billing, tmp_path):
    recipe = project / "recipes" / "enter-order.yaml"
    recipe.write_text(recipe.read_text().replace("expect: Save this order?", "expect: Save this invoice?"))
    path, _ = make_orders(tmp_path / "orders.xlsx", 1)
    result = start_run(RunRequest(bot="rekey-orders", input_path=path, project=project,
                                  app_urls={"billing": billing.url}))
    assert result.items[0].outcome == "system_exception"
    assert "the application asked 'Save this order?' (expected 'Save this invoice?'); it was dismissed" \
        in result.items[0].message
    assert orders_in_db(billing.settings.db_path) == []
