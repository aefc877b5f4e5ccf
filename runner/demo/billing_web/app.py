"""The bundled legacy order-entry and billing system ("BILLSYS 4.2").

It behaves like a web screen from the early 2000s on purpose: a frameset, table
layouts, form fields without ids whose names are generated per session, a
JavaScript confirm() before saving, paginated lists, an idle session timeout,
slow pages and an occasional "system busy" page. Bots are tested against it.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

from flask import Flask, make_response, redirect, render_template, request

from .database import BillingDatabase
from .faults import BillingFaults, RepeatedNumbers, fault_script

SESSION_COOKIE = "BILLSYS_SID"
PAGE_SIZE = 20
ORDER_FIELDS = ("reference", "customer_code", "sku", "quantity", "unit_price", "ship_date", "priority",
                "gift_wrap", "supervisor_code", "notes")
PRIORITIES = {"N": "Normal", "R": "Rush", "L": "Low"}
INVOICE_FIELDS = ("customer_code", "customer_reference", "invoice_date", "terms", "net_amount", "tax_amount",
                  "total_amount", "description")
TERMS = {"15": "Net 15", "30": "Net 30", "45": "Net 45", "60": "Net 60"}
DOC_TYPES = {"PO": "Purchase order", "RM": "Remittance advice", "CT": "Contract"}
DOCUMENT_MAX_BYTES = 2_000_000


@dataclass
class BillingSettings:
    db_path: Path
    username: str = "clerk"
    password: str = "clerk"
    supervisor_code: str = "0000"
    delay_ms: int = 0
    busy_rate: float = 0.0
    session_timeout_s: float = 900.0
    ui_version: int = 1  # 2 renames a few controls, as an upgrade of the legacy system would
    seed: int | None = None
    faults: BillingFaults = field(default_factory=BillingFaults)


def field_name(salt: str, field: str) -> str:
    """Generated form field names: stable within a session, different across sessions."""
    return "f_" + hashlib.sha1(f"{salt}:{field}".encode()).hexdigest()[:10]


def create_app(settings: BillingSettings) -> Flask:
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    app.config["BILLING"] = settings
    db = BillingDatabase(settings.db_path)
    db.seed(settings.username, settings.password)
    chance = random.Random(settings.seed)
    numbers_shown = RepeatedNumbers(settings.faults.repeat_ids, settings.seed)

    def shown_number(kind: str, number: str, reference: str) -> str:
        shown, repeated = numbers_shown.shown(kind, number)
        if repeated:
            db.log_fault("repeat_ids", kind, "number", f"{reference} saved as {number}, shown as {shown}")
        return shown

    def current_session():
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid:
            return None
        conn = db.connect()
        row = conn.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
        if row is None or time.time() - row["last_seen"] > settings.session_timeout_s:
            return None
        conn.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (time.time(), sid))
        return row

    def page(template: str, **context):
        return render_template(template, ui=settings.ui_version, **context)

    @app.before_request
    def legacy_latency_and_busy():
        if request.path.startswith("/static"):
            return None
        if settings.delay_ms:
            time.sleep(settings.delay_ms / 1000)
        if settings.busy_rate and request.path not in ("/login", "/", "/menu", "/faults") \
                and chance.random() < settings.busy_rate:
            return page("busy.html"), 200  # legacy systems answer 200 with an error page
        return None

    def require_session():
        session = current_session()
        if session is None:
            target = request.full_path.rstrip("?")
            expired = "expired=1&" if request.cookies.get(SESSION_COOKIE) else ""
            return None, redirect(f"/login?{expired}next={quote(target)}")
        return session, None

    @app.route("/login", methods=["GET", "POST"])
    def login():
        next_url = request.values.get("next", "/home")
        if not next_url.startswith("/") or next_url.startswith("//"):
            next_url = "/home"
        error = ""
        if request.method == "POST":
            user = request.form.get("UID", "")
            if db.check_password(user, request.form.get("PWD", "")):
                sid = secrets.token_hex(16)
                db.connect().execute(
                    "INSERT INTO sessions(id, username, salt, last_seen) VALUES (?, ?, ?, ?)",
                    (sid, user, secrets.token_hex(8), time.time()),
                )
                # A bounced frameset comes back as itself; a bounced screen comes back inside the frameset.
                target = next_url if next_url == "/" or next_url.startswith("/?") else f"/?main={quote(next_url)}"
                response = make_response(redirect(target))
                response.set_cookie(SESSION_COOKIE, sid, httponly=True)
                return response
            error = "Invalid user ID or password."
        return page("login.html", error=error, next_url=next_url, expired=request.args.get("expired"))

    @app.route("/logout")
    def logout():
        response = make_response(redirect("/login"))
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.route("/")
    def frameset():
        session, bounce = require_session()
        if bounce:
            return bounce
        main = request.args.get("main", "/home")
        if not main.startswith("/") or main.startswith("//"):
            main = "/home"
        return page("frameset.html", main=main)

    @app.route("/menu")
    def menu():
        session, bounce = require_session()
        if bounce:
            return bounce
        return page("menu.html", user=session["username"])

    @app.route("/home")
    def home():
        session, bounce = require_session()
        if bounce:
            return bounce
        return page("home.html", user=session["username"], now=datetime.now())

    @app.route("/faults", methods=["POST"])
    def record_fault():
        """Where the fault script says what it did to the page, so the database knows every injected fault."""
        session, bounce = require_session()
        if bounce:
            return bounce
        report = request.get_json(silent=True) or {}
        kinds = {"drop_keys", "autocomplete"}
        if report.get("kind") in kinds:
            db.log_fault(report["kind"], str(report.get("screen", ""))[:40], str(report.get("field", ""))[:40],
                         str(report.get("detail", ""))[:200])
        return "", 204

    def entry_screen(fields: tuple[str, ...], validate, save, form_template: str, **form_context):
        """A legacy entry form: generated field names, ERROR lines above the form, a saved page after."""
        session, bounce = require_session()
        if bounce:
            return bounce
        names = {f: field_name(session["salt"], f) for f in fields}
        values = {f: request.form.get(names[f], "") for f in fields}
        errors: list[str] = []
        if request.method == "POST":
            clean, errors = validate(values)
            if not errors:
                return save(clean, session["username"])
        script = fault_script(settings.faults, request.path, names, db.customers())
        return page(form_template, names=names, values=values, errors=errors, fault_script=script, **form_context)

    @app.route("/orders/new", methods=["GET", "POST"])
    def new_order():
        def save(clean: dict, user: str):
            number = shown_number("order", db.insert_order(clean, user), clean["reference"])
            return page("saved.html", confirmation=number, order=clean,
                        priority=PRIORITIES[clean["priority"]])
        return entry_screen(ORDER_FIELDS, lambda values: validate_order(values, db, settings), save,
                            "order_form.html", priorities=PRIORITIES)

    def search_screen(field: str, find, template: str):
        session, bounce = require_session()
        if bounce:
            return bounce
        name = field_name(session["salt"], field)
        reference = request.args.get(name, "").strip()
        return page(template, name=name, reference=reference, rows=find(reference) if reference else None)

    def partial_search(find_like, find_exact, kind: str):
        """With shuffle_lists on, a search matches the key's first 8 characters, rows in no fixed order."""
        if not settings.faults.shuffle_lists:
            return find_exact

        def find(reference: str):
            rows = list(find_like(reference[:8]))
            chance.shuffle(rows)
            if len(rows) > 1:
                db.log_fault("shuffle_lists", kind, "reference", f"search for {reference} listed {len(rows)} rows")
            return rows
        return find

    @app.route("/orders/search")
    def search_orders():
        return search_screen("search_reference", partial_search(db.find_orders_like, db.find_orders, "order"),
                             "search.html")

    def list_screen(template: str, fetch, **context):
        """A paginated list: PAGE_SIZE rows a page, "Next >>" while there are more; fetch(offset, limit)
        gives the rows, the count and any figures the page shows."""
        session, bounce = require_session()
        if bounce:
            return bounce
        page_no = requested_page()
        rows, total, *figures = fetch((page_no - 1) * PAGE_SIZE, PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        return page(template, rows=rows, page_no=page_no, pages=pages, total=total, figures=figures, **context)

    @app.route("/orders")
    def list_orders():
        return list_screen("orders.html", db.list_orders)

    @app.route("/invoices/new", methods=["GET", "POST"])
    def new_invoice():
        def save(clean: dict, user: str):
            number = shown_number("invoice", db.insert_invoice(clean, user), clean["customer_reference"])
            return page("invoice_saved.html", number=number, invoice=clean)
        return entry_screen(INVOICE_FIELDS, lambda values: validate_invoice(values, db), save,
                            "invoice_form.html", terms=TERMS)

    @app.route("/invoices/search")
    def search_invoices():
        return search_screen("search_customer_reference",
                             partial_search(db.find_invoices_like, db.find_invoices, "invoice"), "invoice_search.html")

    @app.route("/documents/new", methods=["GET", "POST"])
    def new_document():
        """Attach a customer's document: the customer is picked in a look-up pop-up window, the file uploaded."""
        session, bounce = require_session()
        if bounce:
            return bounce
        names = {f: field_name(session["salt"], f) for f in ("customer_code", "doc_type", "file")}
        values = {f: request.form.get(names[f], "") for f in ("customer_code", "doc_type")}
        errors: list[str] = []
        if request.method == "POST":
            upload = request.files.get(names["file"])
            data = upload.read(DOCUMENT_MAX_BYTES + 1) if upload else b""
            code = values["customer_code"].strip().upper()
            if db.customer(code) is None:
                errors.append(f"Customer {code or '(blank)'} not on file.")
            if values["doc_type"] not in DOC_TYPES:
                errors.append("Choose a document type.")
            if not upload or not upload.filename or not data:
                errors.append("Choose a file to attach.")
            elif len(data) > DOCUMENT_MAX_BYTES:
                errors.append("File too large (2 MB at most).")
            if not errors:
                number = db.insert_document({"customer_code": code, "doc_type": values["doc_type"],
                                             "filename": upload.filename, "size": len(data),
                                             "sha256": hashlib.sha256(data).hexdigest()}, session["username"])
                return page("document_saved.html", number=number, customer=code, filename=upload.filename,
                            doc_type=DOC_TYPES[values["doc_type"]])
        return page("document_form.html", names=names, values=values, errors=errors, doc_types=DOC_TYPES)

    @app.route("/customers/lookup")
    def customer_lookup():
        session, bounce = require_session()
        if bounce:
            return bounce
        code = request.args.get("code", "").strip().upper()
        customer = db.customer(code) if code else None
        return page("customer_lookup.html", code=code, customer=customer, searched=bool(code))

    @app.route("/ledger")
    def receivables_ledger():
        return list_screen("ledger.html", db.list_invoices, us_date=us_date, money=lambda v: f"{Decimal(v):,.2f}")

    return app


def requested_page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def us_date(iso: str) -> str:
    return datetime.strptime(iso, "%Y-%m-%d").strftime("%m/%d/%Y")


def _amount(text: str, label: str, errors: list[str], allow_zero: bool = False) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
        if not value.is_finite() or value < 0 or (value == 0 and not allow_zero) or value.as_tuple().exponent < -2:
            raise InvalidOperation
        return value
    except InvalidOperation:
        errors.append(f"{label} must be an amount with at most 2 decimals.")
        return None


def validate_invoice(values: dict, db: BillingDatabase) -> tuple[dict, list[str]]:
    errors: list[str] = []
    clean = {k: values[k].strip() for k in INVOICE_FIELDS}
    customer = db.customer(clean["customer_code"].upper())
    if customer is None:
        errors.append(f"Unknown customer code '{clean['customer_code']}'.")
    elif customer["closed"]:
        errors.append(f"Customer account {customer['code']} is closed.")
    clean["customer_code"] = clean["customer_code"].upper()
    try:
        clean["invoice_date"] = datetime.strptime(clean["invoice_date"], "%m/%d/%Y").date().isoformat()
    except ValueError:
        errors.append("Invoice date must be MM/DD/YYYY.")
    if clean["terms"] not in TERMS:
        errors.append("Choose payment terms.")
    else:
        clean["terms_days"] = int(clean.pop("terms"))
    net = _amount(clean["net_amount"], "Net amount", errors)
    tax = _amount(clean["tax_amount"], "Tax", errors, allow_zero=True)
    total = _amount(clean["total_amount"], "Total", errors)
    if None not in (net, tax, total) and net + tax != total:
        errors.append("Invoice total does not equal net + tax.")
    if not errors:
        clean.update(net_amount=f"{net:.2f}", tax_amount=f"{tax:.2f}", total_amount=f"{total:.2f}")
    return clean, errors


def validate_order(values: dict, db: BillingDatabase, settings: BillingSettings) -> tuple[dict, list[str]]:
    errors = []
    clean = {k: values[k].strip() for k in ORDER_FIELDS}
    if not clean["reference"]:
        errors.append("Order reference is required.")
    customer = db.customer(clean["customer_code"].upper())
    if customer is None:
        errors.append(f"Unknown customer code '{clean['customer_code']}'.")
    elif customer["closed"]:
        errors.append(f"Customer account {customer['code']} is closed.")
    clean["customer_code"] = clean["customer_code"].upper()
    if not re.fullmatch(r"[A-Z0-9-]{3,20}", clean["sku"].upper()):
        errors.append("Item (SKU) must be 3-20 letters, digits or dashes.")
    clean["sku"] = clean["sku"].upper()
    if not clean["quantity"].isdigit() or not 0 < int(clean["quantity"]) < 100000:
        errors.append("Quantity must be a whole number from 1 to 99999.")
    else:
        clean["quantity"] = int(clean["quantity"])
    try:
        price = Decimal(clean["unit_price"])
        if price <= 0 or price.as_tuple().exponent < -2:
            raise InvalidOperation
        clean["unit_price"] = f"{price:.2f}"
    except InvalidOperation:
        errors.append("Unit price must be a positive amount with at most 2 decimals.")
    try:
        clean["ship_date"] = datetime.strptime(clean["ship_date"], "%m/%d/%Y").date().isoformat()
    except ValueError:
        errors.append("Ship date must be MM/DD/YYYY.")
    if clean["priority"] not in PRIORITIES:
        errors.append("Choose a priority.")
    clean["gift_wrap"] = 1 if values["gift_wrap"] else 0
    code = clean.pop("supervisor_code")
    clean["supervisor_code_ok"] = 1 if code == settings.supervisor_code else 0
    if clean["priority"] == "R" and not clean["supervisor_code_ok"]:
        # like many legacy screens, it repeats what was typed: the evidence must not
        errors.append(f"Rush orders need a valid supervisor code: {code} is not valid.")
    return clean, errors
