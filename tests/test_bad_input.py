"""Bad input is refused with a message naming the place, and nothing already done is lost."""

from __future__ import annotations

import socket

import pytest
from openpyxl import Workbook, load_workbook

from runner.demo.sample_orders import HEADERS, write_orders_workbook
from runner import ExitCode, InputFileError, RecipeError, RunRequest, SelectorMapError, start_run
from runner.errors import AppUnreachableError

from .conftest import make_orders, orders_in_db


def run(project, workbook, billing):
    return start_run(RunRequest(bot="rekey-orders", input_path=workbook, project=project,
                                app_urls={"billing": billing.url}))


def statuses(result) -> dict[str, str]:
    sheet = load_workbook(result.results_path).active
    header = [c.value for c in sheet[1]]
    return {row[0]: (row[header.index("Status")], row[header.index("Message")])
            for row in sheet.iter_rows(min_row=2, values_only=True)}


def test_a_wrong_value_rejects_its_row_by_cell_and_the_rest_are_keyed(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 6)
    rows[5][3] = "ten"                      # row 7 of the sheet, column D (Quantity)
    rows[2][5] = "31/02/2026"               # row 4, column F (Ship Date): no such day
    write_orders_workbook(path, rows)
    result = run(project, path, billing)

    assert result.exit_code == ExitCode.ITEMS_FAILED
    rejected = {i.reference: i.message for i in result.items if i.outcome == "rejected"}
    assert rejected[rows[5][0]] == '[orders.xlsx]Orders!D7: quantity must be a whole number, got "ten"'
    assert rejected[rows[2][0]].startswith('[orders.xlsx]Orders!F4: ship_date must be a date')
    keyed = {o["reference"] for o in orders_in_db(billing.settings.db_path)}
    assert keyed == {r[0] for i, r in enumerate(rows) if i not in (2, 5)}
    status = statuses(result)
    assert status[rows[5][0]][0] == "Rejected (bad data)" and "D7" in status[rows[5][0]][1]
    assert status[rows[0][0]][0] == "Done"


def test_a_repeated_reference_is_rejected_not_keyed_twice(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 3)
    rows.append(list(rows[0]))
    write_orders_workbook(path, rows)
    result = run(project, path, billing)
    refs = [o["reference"] for o in orders_in_db(billing.settings.db_path)]
    assert refs.count(rows[0][0]) == 1
    assert any(i.outcome == "rejected" and "[orders.xlsx]Orders!A5" in i.message and "row 2" in i.message
               for i in result.items)


def test_a_missing_column_stops_before_anything_is_keyed(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 2)
    headers = [h if h != "Quantity" else "Qty" for h in HEADERS]
    write_orders_workbook(path, rows, headers)
    with pytest.raises(InputFileError) as caught:
        run(project, path, billing)
    assert "orders.xlsx: missing column 'Quantity'" in caught.value.message
    assert "Qty" in caught.value.message  # says what it found
    assert orders_in_db(billing.settings.db_path) == []
    assert not (project / "logs" / "rekey-orders").exists()


def test_an_empty_sheet_and_a_header_only_sheet(project, billing, tmp_path):
    empty = tmp_path / "empty.xlsx"
    wb = Workbook()
    wb.active.title = "Orders"
    wb.save(empty)
    with pytest.raises(InputFileError, match=r"\[empty.xlsx\]Orders: the sheet is empty"):
        run(project, empty, billing)
    header_only = write_orders_workbook(tmp_path / "header.xlsx", [])
    with pytest.raises(InputFileError, match=r"\[header.xlsx\]Orders: no rows below the header"):
        run(project, header_only, billing)


def test_a_file_that_is_not_a_workbook(project, billing, tmp_path):
    fake = tmp_path / "orders.xlsx"
    fake.write_text("Order Ref,Customer\nSO-1,C001\n")
    with pytest.raises(InputFileError, match=r"orders.xlsx: not an Excel workbook"):
        run(project, fake, billing)


def test_a_malformed_recipe_is_reported_by_file_and_line(project, billing, tmp_path):
    recipe = project / "recipes" / "enter-order.yaml"
    lines = recipe.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip() == "- click: order.save")
    lines[index] = "  - clik: order.save"
    recipe.write_text("\n".join(lines) + "\n")
    path, _ = make_orders(tmp_path / "orders.xlsx", 1)
    with pytest.raises(RecipeError) as caught:
        run(project, path, billing)
    assert caught.value.message.startswith(f"recipes/enter-order.yaml:{index + 1}: unknown step 'clik'")
    assert orders_in_db(billing.settings.db_path) == []


def test_a_malformed_selector_map_is_reported_by_file_and_line(project, billing, tmp_path):
    path = project / "selectors" / "billing.yaml"
    text = path.read_text().replace("        - css: \"span.cnf\"\n", "        - css: \"span.cnf\"\n          xpath: //span\n")
    path.write_text(text)
    line = text.splitlines().index("        - css: \"span.cnf\"") + 1
    workbook, _ = make_orders(tmp_path / "orders.xlsx", 1)
    with pytest.raises(SelectorMapError) as caught:
        run(project, workbook, billing)
    assert caught.value.message.startswith(f"selectors/billing.yaml:{line}: ")
    assert "exactly one of" in caught.value.message


def test_an_unreachable_application_keeps_what_was_done(project, billing, tmp_path):
    path, rows = make_orders(tmp_path / "orders.xlsx", 4)

    def stop_app_after_two(progress):
        if progress.finished == 2 and progress.current is None:
            billing.stop()

    result = start_run(RunRequest(bot="rekey-orders", input_path=path, project=project,
                                  app_urls={"billing": billing.url}), on_progress=stop_app_after_two)
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert "cannot reach" in result.message
    status = statuses(result)
    keyed = {o["reference"]: o["confirmation"] for o in orders_in_db(billing.settings.db_path)}
    assert set(keyed) == {rows[0][0], rows[1][0]}
    assert [status[r[0]][0] for r in rows] == ["Done", "Done", "Not started", "Not started"]
    assert result.report_path.exists()


def test_an_application_that_is_not_running_at_all(project, secrets_env, tmp_path):
    path, _ = make_orders(tmp_path / "orders.xlsx", 2)
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = start_run(RunRequest(bot="rekey-orders", input_path=path, project=project,
                                  app_urls={"billing": f"http://127.0.0.1:{port}"}))
    assert result.exit_code == ExitCode.ENVIRONMENT
    assert (result.counts.not_started, result.counts.total, result.counts.rows) == (2, 2, 2)
    assert result.message.startswith(f"cannot reach http://127.0.0.1:{port}/")
    assert isinstance(AppUnreachableError(result.message).hint, str) and "--app-url" in AppUnreachableError.hint
