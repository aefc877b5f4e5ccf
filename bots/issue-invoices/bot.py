"""Invoicing rules: group completed jobs per customer and month, price them from customers.xlsx.

customers.xlsx (sheet Customers, in this folder) is the business's price list: one row per
customer with its name, address, labour rate per hour, discount %, tax % and payment terms.
Money is Decimal throughout; discount and tax are rounded half up to the cent per invoice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from runner import InputFileError, Refused, ValueProblem, WorkItem, cell_ref, parse_amount, round_money

CUSTOMER_FILE = "customers.xlsx"
CUSTOMER_COLUMNS = ("Customer", "Name", "Address", "City", "Postcode", "Labour Rate", "Discount %", "Tax %",
                    "Terms (days)")
TERMS = (15, 30, 45, 60)  # what BILLSYS offers
ISSUER_COUNTRY = "GB"     # Northwind Field Services Ltd, Leeds: the country whose tax its invoices charge
# what the tax on an invoice is called where the issuer is registered; elsewhere plainly "Tax"
TAX_NAMES = {"GB": "VAT", "IE": "VAT", "DE": "USt.", "AT": "USt.", "FR": "TVA", "BE": "BTW", "NL": "BTW", "ES": "IVA",
             "IT": "IVA", "PT": "IVA", "AU": "GST", "NZ": "GST", "SG": "GST", "IN": "GST", "CA": "GST/HST",
             "ZA": "VAT", "US": "Sales tax"}


@dataclass
class Customer:
    code: str
    name: str
    address: list[str]
    labour_rate: Decimal
    discount_pct: Decimal
    tax_pct: Decimal
    terms_days: int


def read_customers(folder: Path) -> tuple[dict[str, Customer], dict[str, str]]:
    """Customers by code, and for a customer whose row is wrong, the cell and what is wrong."""
    path = Path(folder) / CUSTOMER_FILE
    if not path.exists():
        raise InputFileError(f"{path.name} not found in the bot's folder", "Put the customer price list there.")
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book["Customers"] if "Customers" in book.sheetnames else book.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        book.close()
    header = [str(v).strip() if v is not None else "" for v in rows[0]] if rows else []
    missing = [c for c in CUSTOMER_COLUMNS if c not in header]
    if missing:
        raise InputFileError(f"[{path.name}]{sheet.title}: missing column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(repr(m) for m in missing)} in row 1")
    col = {name: header.index(name) for name in CUSTOMER_COLUMNS}
    customers, broken = {}, {}
    for row_no, values in enumerate(rows[1:], start=2):
        code = str(values[col["Customer"]] or "").strip().upper()
        if not code:
            continue

        def cell(name: str) -> str:
            return cell_ref(path.name, sheet.title, col[name] + 1, row_no)

        try:
            rate = _percent_or_money(values[col["Labour Rate"]], cell("Labour Rate"), "labour rate")
            discount = _percent_or_money(values[col["Discount %"]] or 0, cell("Discount %"), "discount %", 100)
            tax = _percent_or_money(values[col["Tax %"]] or 0, cell("Tax %"), "tax %", 100)
            terms = int(values[col["Terms (days)"]] or 30)
            if terms not in TERMS:
                raise ValueProblem(f"{cell('Terms (days)')}: terms must be one of {', '.join(map(str, TERMS))} days, "
                                   f"got {terms}")
        except (ValueProblem, ValueError, TypeError) as exc:
            broken[code] = str(exc)
            continue
        address = [str(values[col[c]]).strip() for c in ("Address", "City", "Postcode") if values[col[c]]]
        customers[code] = Customer(code, str(values[col["Name"]] or code).strip(), address, rate, discount, tax, terms)
    return customers, broken


def _percent_or_money(value, where: str, what: str, maximum: int | None = None) -> Decimal:
    try:
        amount = parse_amount(value, "USD")
    except ValueProblem as exc:
        raise ValueProblem(f"{where}: {what} {exc}") from None
    if amount < 0 or (maximum is not None and amount > maximum):
        raise ValueProblem(f"{where}: {what} must be between 0 and {maximum or 'any amount'}, got {amount}")
    return amount


def price_invoice(customer: Customer, jobs: list[WorkItem], period: str, invoice_date, reference: str) -> dict:
    lines = []
    for job in sorted(jobs, key=lambda j: (j.data["completed"], j.reference)):
        d = job.data
        if d["labour_hours"]:
            lines.append({"job_no": job.reference, "description": f"Job {job.reference}, {d['completed']:%d %b %Y}: "
                          f"labour ({d['technician']})", "quantity": d["labour_hours"], "unit": "h",
                          "unit_price": customer.labour_rate, "amount": round_money(d["labour_hours"] * customer.labour_rate)})
        if d["part"] and d["part_qty"]:
            lines.append({"job_no": job.reference, "description": f"Job {job.reference}: {d['part']}",
                          "quantity": Decimal(d["part_qty"]), "unit": "pc", "unit_price": d["part_price"],
                          "amount": round_money(d["part_qty"] * d["part_price"])})
    subtotal = sum((line["amount"] for line in lines), Decimal("0.00"))
    discount = round_money(subtotal * customer.discount_pct / 100)
    net = subtotal - discount
    tax = round_money(net * customer.tax_pct / 100)
    return {
        "invoice_ref": reference, "customer": customer.code, "customer_name": customer.name,
        "address": customer.address, "period": period, "invoice_date": invoice_date,
        "due_date": invoice_date + timedelta(days=customer.terms_days), "terms_days": customer.terms_days,
        "lines": lines, "subtotal": subtotal, "discount_pct": customer.discount_pct, "discount": discount,
        "net": net, "tax_pct": customer.tax_pct, "tax": tax, "total": net + tax,
        "tax_name": TAX_NAMES.get(ISSUER_COUNTRY, "Tax"),
        "jobs": [{"job_no": j.reference, "completed": j.data["completed"], "technician": j.data["technician"],
                  "days_to_invoice": (invoice_date - j.data["completed"]).days} for j in jobs],
        "covers": [j.reference for j in jobs],
    }


def make_items(rows: list[WorkItem], context) -> list:
    customers, broken = read_customers(context.folder)
    groups: dict[tuple[str, str], list[WorkItem]] = defaultdict(list)
    for job in rows:
        groups[(job.data["customer"].strip().upper(), f"{job.data['completed']:%Y-%m}")].append(job)
    made = []
    for (code, period), jobs in sorted(groups.items()):
        reference = context.reference_for(f"{code}-{period}")  # -2, -3 for jobs after an invoice of the month
        first = min(jobs, key=lambda j: j.row or 0)
        problem = None
        if code in broken:
            problem = f"{broken[code]} (customer {code} in {CUSTOMER_FILE})"
        elif code not in customers:
            problem = (f"{context.cell(first, 'customer')}: customer {code} is not in {CUSTOMER_FILE}; "
                       f"add it there and run again")
        elif all(not j.data["labour_hours"] and not j.data["part_qty"] for j in jobs):
            problem = f"{context.cell(first, 'labour_hours')}: nothing to invoice (no hours and no parts)"
        if problem:
            made.append(Refused(reference, [problem], [j.reference for j in jobs],
                                {"customer": code, "period": period, "jobs": [j.reference for j in jobs]},
                                first.source))
            continue
        data = price_invoice(customers[code], jobs, period, context.today, reference)
        made.append(WorkItem(reference, data, f"{context.input_path.name}: {len(jobs)} job(s) of {code} in {period}"))
    return made
