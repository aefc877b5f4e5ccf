"""Writes bots/issue-invoices/invoice-template.docx, the invoice layout the business edits in Word.

The template holds docxtpl placeholders: `{{ item.customer_name }}`, `{{ vars.invoice_no }}`,
money through `|money`, rates through `|percent`, dates through `|day`, and the line table repeated with
`{%tr for line in item.lines %}`. Run `python -m runner.demo.invoice_template` to write it afresh.

As a clerk files it: no "Discount (0%) -0.00" line (a discount and the net after it only when there
is one), the tax under its own name (`item.tax_name`: VAT, GST, ...), the line table's header on
every page it runs over, no line split between pages, and the totals, payment terms and bank
details kept together on one page, never left alone on the next.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.shared import Pt, RGBColor

LETTERHEAD = ["Northwind Field Services Ltd", "Unit 4, Riverside Park, Leeds LS10 1AB",
              "accounts@northwind-fs.example  ·  0113 496 0000  ·  VAT GB 123 4567 89"]


def _paragraph(document, text: str, *, bold: bool = False, size: int | None = None, align=None, color=None):
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    if color:
        run.font.color.rgb = color
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(2)
    return paragraph


def _row_flag(row, flag: str) -> None:
    """A table row property: cantSplit (never across a page break), tblHeader (repeated on each page)."""
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement(f"w:{flag}"))


def _keep_with_next(cell_or_paragraphs) -> None:
    paragraphs = getattr(cell_or_paragraphs, "paragraphs", cell_or_paragraphs)
    for paragraph in paragraphs:
        paragraph.paragraph_format.keep_with_next = True


def write_template(path: Path) -> Path:
    document = Document()
    style = document.styles["Normal"]
    style.font.name, style.font.size = "Calibri", Pt(10)
    _paragraph(document, LETTERHEAD[0], bold=True, size=18, color=RGBColor(0x1F, 0x3A, 0x5F))
    for line in LETTERHEAD[1:]:
        _paragraph(document, line, size=9, color=RGBColor(0x59, 0x59, 0x59))
    _paragraph(document, "")
    _paragraph(document, "INVOICE", bold=True, size=16, align=WD_ALIGN_PARAGRAPH.RIGHT)

    heading = document.add_table(rows=1, cols=2)
    left, right = heading.rows[0].cells
    left.text = ""
    left.paragraphs[0].add_run("Bill to").bold = True
    left.add_paragraph("{{ item.customer_name }}")
    left.add_paragraph("{% for line in item.address %}{{ line }}\n{% endfor %}")
    left.add_paragraph("Account {{ item.customer }}")
    right.text = ""
    for label, value in (("Invoice No.", "{{ vars.invoice_no }}"), ("Invoice date", "{{ item.invoice_date|day }}"),
                         ("Due date", "{{ item.due_date|day }}"), ("Your reference", "{{ item.invoice_ref }}"),
                         ("Period", "{{ item.period }}")):
        paragraph = right.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(value)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _paragraph(document, "")

    # the last line is a loop of its own: it keeps with the totals, so they never start a page alone
    lines = document.add_table(rows=7, cols=4)
    lines.style = "Table Grid"
    lines.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, title in zip(lines.rows[0].cells, ("Description", "Quantity", "Unit price", "Amount")):
        cell.text = ""
        cell.paragraphs[0].add_run(title).bold = True
    _row_flag(lines.rows[0], "tblHeader")
    for row in lines.rows:
        _row_flag(row, "cantSplit")
    for first, row, last, which in ((1, 2, 3, "item.lines[:-1]"), (4, 5, 6, "item.lines[-1:]")):
        lines.rows[first].cells[0].text = f"{{%tr for line in {which} %}}"
        for cell, value in zip(lines.rows[row].cells, ("{{ line.description }}", "{{ line.quantity }} {{ line.unit }}",
                                                       "{{ line.unit_price|money }}", "{{ line.amount|money }}")):
            cell.text = value
        for cell in lines.rows[row].cells[1:]:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        lines.rows[last].cells[0].text = "{%tr endfor %}"
    for cell in lines.rows[5].cells:
        _keep_with_next(cell)
    _paragraph(document, "")

    # the totals, the terms and the bank details stay together, on the page of the last lines they follow
    kept = [document.paragraphs[-1]]
    totals = document.add_table(rows=0, cols=2)
    totals.alignment = WD_TABLE_ALIGNMENT.RIGHT
    for label, value in (("Subtotal", "{{ item.subtotal|money }}"),
                         ("{%tr if item.discount %}", None),
                         ("Discount ({{ item.discount_pct|percent }}%)", "-{{ item.discount|money }}"),
                         ("Net", "{{ item.net|money }}"),
                         ("{%tr endif %}", None),
                         ("{{ item.tax_name }} ({{ item.tax_pct|percent }}%)", "{{ item.tax|money }}"),
                         ("Total due (USD)", "{{ item.total|money }}")):
        row = totals.add_row()
        _row_flag(row, "cantSplit")
        cells = row.cells
        cells[0].text = label
        if value is not None:
            cells[1].text = value
            cells[1].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        for cell in cells:
            _keep_with_next(cell)
    for cell in totals.rows[-1].cells:
        for run in cell.paragraphs[0].runs:
            run.bold = True
    kept += [_paragraph(document, ""), _paragraph(document, "Payment terms", bold=True),
             _paragraph(document, "Net {{ item.terms_days }} days: please pay by {{ item.due_date|day }}, quoting "
                                  "{{ vars.invoice_no }} as the payment reference."),
             _paragraph(document, "Bank: Northern Counties Bank · Sort code 40-11-62 · Account 71234567")]
    _keep_with_next(kept)
    _paragraph(document, "Thank you for your business.", size=9, color=RGBColor(0x59, 0x59, 0x59))
    path = Path(path)
    document.save(str(path))
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bots/issue-invoices/invoice-template.docx")
    print(write_template(target))
