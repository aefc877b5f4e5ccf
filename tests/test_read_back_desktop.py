"""Read-back and the right window on the desktop: LEDGER/AR loses keys typed in a burst, opens an account
list over the fields below, and keeps message boxes in front after OK. The payments bot must leave LEDGER's
own database holding exactly the workbook, and say what it corrected."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from runner import ExitCode, RunRequest, start_run
from runner.audit.events import read_events

from .conftest import faults_logged, make_payments


PAYMENTS = [
    ["RB-0001", "C1001", 120.50, "2026-11-02"],
    ["RB-0002", "C1013", 89.99, "2026-11-03"],
    ["RB-0003", "C1004", 1500.00, "2026-11-04"],
    ["RB-0004", "C1007", 0.01, "2026-11-06"],
    ["RB-0005", "C1011", 734.12, "2026-11-07"],
]


def assert_ledger_holds(ledger, rows) -> None:
    posted = ledger.payments()
    assert sorted(p["payment_ref"] for p in posted) == sorted(r[0] for r in rows)  # each once, none missing
    by_ref = {p["payment_ref"]: p for p in posted}
    for ref, account, amount, paid_on in rows:
        assert by_ref[ref]["account"] == account, ref
        assert Decimal(by_ref[ref]["amount_cents"]) / 100 == Decimal(str(amount)), ref
        assert by_ref[ref]["payment_date"] == paid_on, ref


def run_payments(project, ledger, tmp_path, rows, *fault_options):
    workbook = make_payments(tmp_path / "payments.xlsx", [[r[0], r[1], r[2], date.fromisoformat(r[3])] for r in rows])
    return start_run(RunRequest(bot="post-payments", input_path=workbook, project=project,
                                app_commands={"ledger": ledger.command(*fault_options)}))


def test_lost_keys_are_typed_again_and_a_covering_list_is_waited_out(project, ledger, screen, tmp_path):
    result = run_payments(project, ledger, tmp_path, PAYMENTS, "--drop-keys", "0.1", "--autocomplete",
                          "--slow-dialog-ms", "800", "--fault-seed", "4")
    assert result.exit_code == ExitCode.OK, result.items
    assert_ledger_holds(ledger, PAYMENTS)

    injected = faults_logged(ledger.db)
    dropped = [f for f in injected if f["kind"] == "drop_keys"]
    assert dropped, "LEDGER lost no key: raise the rate or change the seed"
    assert [f for f in injected if f["kind"] == "autocomplete" and f["detail"].startswith("list shown")]
    assert not [f for f in injected if f["detail"].startswith("picked")], "a click landed on the account list"
    events = read_events(result.run_dir)
    retyped = [e for e in events if e.get("verified") == "retyped"]
    # every field that lost a key was seen on read-back and typed again; nothing else was
    assert {e["target"] for e in retyped} == {f["field"] for f in dropped}
    assert 1 <= len(retyped) <= len(dropped)
    fills = [e for e in events if e["kind"] == "step" and e["action"] == "fill" and e["outcome"] == "pass"]
    assert all(e.get("verified") in ("read back", "retyped", "length") for e in fills)
    password = [e for e in fills if e["target"] == "signon.password"]
    assert password and all(e["verified"] in ("length", "retyped") for e in password)  # a masked box shows its length
    waited = [w for e in events for w in (e.get("data") or {}).get("waited", [])]
    assert any("to be uncovered" in w for w in waited), waited
    posts = [e for e in events if e.get("target") == "post.button" and e["outcome"] == "pass"]
    assert len(posts) == len(PAYMENTS)
    assert all(e["data"]["rechecked"] == ["post.account", "post.amount", "post.reference", "post.date"] for e in posts)
    assert result.read_back["retyped"] == len(retyped) and result.read_back["verified"] >= len(fills)


def test_keys_wait_for_a_slow_dialog_to_leave_the_front(project, ledger, screen, tmp_path):
    """Without the recipe's own wait for the dialog to close, F4 of the next payment would go to the box."""
    recipe = project / "recipes" / "post-payment.yaml"
    text = recipe.read_text()
    assert "  - wait_for: {target: dialog.posted, state: hidden}\n" in text
    text = text.replace("  - wait_for: {target: dialog.posted, state: hidden}\n", "")
    # and a field emptied first: an empty field has no text to copy, which is what was meant
    text = text.replace("  - fill: {target: post.reference,", '  - fill: {target: post.reference, value: ""}\n'
                        "  - fill: {target: post.reference,", 1)
    recipe.write_text(text)
    rows = PAYMENTS[:3]
    result = run_payments(project, ledger, tmp_path, rows, "--slow-dialog-ms", "1500")
    assert result.exit_code == ExitCode.OK, result.items
    assert all(i.attempts == 1 for i in result.items)  # no key went astray, nothing had to be retried
    assert_ledger_holds(ledger, rows)
    events = read_events(result.run_dir)
    waited = [w for e in events for w in (e.get("data") or {}).get("waited", [])]
    assert any("to be in front before pressing F4" in w for w in waited), waited
    emptied = [e for e in events if e.get("target") == "post.reference" and e.get("value") == ""]
    assert len(emptied) == len(rows) and all(e["verified"] == "read back" for e in emptied)
