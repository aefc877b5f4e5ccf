"""The result workbook a clerk sorts and sums: typed results, a frozen and filtered header, columns
as wide as what they hold, and text from screens left exactly as it was."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook, load_workbook

from runner.intake.results_workbook import write_results


def _input_workbook(path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Jobs"
    sheet.append(["Job No", "Completed", "Hours"])
    sheet.append(["J-1", date(2026, 10, 1), 2.5])
    sheet.append(["J-2", date(2026, 10, 3), 1])
    sheet.append(["J-3", date(2026, 10, 4), 4])
    book.save(path)
    return path


def test_results_keep_their_types_and_text_stays_exactly_as_read(tmp_path):
    source = _input_workbook(tmp_path / "jobs.xlsx")
    rows = {
        2: {"Status": "done", "Message": "", "Invoice Date": date(2026, 11, 2), "Days": 32,
            "Total": Decimal("1234.50"), "Posted": datetime(2026, 11, 2, 9, 30), "Reference": "00123"},
        3: {"Status": "done", "Message": "", "Invoice Date": date(2026, 11, 2), "Days": 30,
            "Total": Decimal("80.00"), "Posted": datetime(2026, 11, 2, 9, 31), "Reference": "=HYPERLINK(\"x\")"},
        4: {"Status": "business_exception", "Message": "customer C999 is not in customers.xlsx"},
    }
    out = write_results(source, tmp_path / "jobs-results.xlsx", "Jobs", 1, rows,
                        ["Invoice Date", "Days", "Total", "Posted", "Reference", "Long number"])
    sheet = load_workbook(out)["Jobs"]
    header = [c.value for c in sheet[1]]
    assert header == ["Job No", "Completed", "Hours", "Status", "Message", "Invoice Date", "Days", "Total", "Posted",
                      "Reference", "Long number"]
    col = {name: index + 1 for index, name in enumerate(header)}

    invoice_date = sheet.cell(row=2, column=col["Invoice Date"])
    assert invoice_date.is_date and invoice_date.value.date() == date(2026, 11, 2)
    assert invoice_date.number_format == "yyyy-mm-dd"
    days = sheet.cell(row=2, column=col["Days"])
    assert days.data_type == "n" and days.value == 32
    total = sheet.cell(row=2, column=col["Total"])
    assert total.data_type == "n" and total.value == 1234.5 and total.number_format.startswith("#,##0.00")
    posted = sheet.cell(row=3, column=col["Posted"])
    assert posted.is_date and posted.value == datetime(2026, 11, 2, 9, 31)
    # text from screens: leading zeros kept, a formula never made
    assert sheet.cell(row=2, column=col["Reference"]).value == "00123"
    formula_like = sheet.cell(row=3, column=col["Reference"])
    assert formula_like.data_type == "s" and formula_like.value == "=HYPERLINK(\"x\")"
    # the input's own cells are as they were
    assert sheet.cell(row=2, column=col["Completed"]).is_date and sheet.cell(row=2, column=col["Hours"]).value == 2.5
    assert sheet.cell(row=4, column=col["Status"]).value == "Needs review"

    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:K4"
    widths = {name: sheet.column_dimensions[sheet.cell(row=1, column=col[name]).column_letter].width
              for name in ("Status", "Message", "Invoice Date")}
    assert widths["Message"] >= len("customer C999 is not in customers.xlsx")
    assert 8 <= widths["Status"] < widths["Message"] and widths["Invoice Date"] >= len("2026-11-02")


def test_a_number_a_spreadsheet_cannot_hold_exactly_is_written_as_text(tmp_path):
    source = _input_workbook(tmp_path / "jobs.xlsx")
    rows = {2: {"Status": "done", "Message": "", "Card": 4111111111111111111, "Amount": Decimal("12345678901234567.89"),
                "Odd": float("nan"), "Flag": True}}
    sheet = load_workbook(write_results(source, tmp_path / "out.xlsx", "Jobs", 1, rows,
                                        ["Card", "Amount", "Odd", "Flag"]))["Jobs"]
    values = {sheet.cell(row=1, column=c).value: sheet.cell(row=2, column=c) for c in range(1, sheet.max_column + 1)}
    assert values["Card"].data_type == "s" and values["Card"].value == "4111111111111111111"
    assert values["Amount"].data_type == "s" and values["Amount"].value == "12345678901234567.89"
    assert values["Odd"].value == "nan" and values["Flag"].value == "True"
