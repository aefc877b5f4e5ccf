"""Documents a bot writes for each item (invoices, letters) from a .docx template the business edits.

Templates use docxtpl placeholders (`{{ item.customer_name }}`, `{%tr for line in item.lines %}`
for table rows) so the layout stays in Word, not in code. Values are XML-escaped (a customer
called "Birch & Sons" cannot break the document) and money has a `money` filter (`|percent` for rates, `|day` for dates).
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import jinja2
from docxtpl import DocxTemplate

from ..errors import BotDefinitionError, SystemException
from ..project.money import money_text


def _money(value, currency: str = "USD") -> str:
    if value is None or value == "":
        return ""
    return money_text(Decimal(str(value)), currency)


def _day(value, fmt: str = "%d %B %Y") -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return value.strftime(fmt) if isinstance(value, (date, datetime)) else str(value)


def _percent(value) -> str:
    """20.00 -> '20', 2.50 -> '2.5': a rate as a person writes it."""
    return format(Decimal(str(value)).normalize(), "f")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["money"] = _money
    env.filters["percent"] = _percent
    env.filters["day"] = _day
    return env


def check_template(path: Path, where: str) -> None:
    """Open the template and parse its placeholders, so a broken template stops the run before keying."""
    try:
        DocxTemplate(str(path)).get_undeclared_template_variables(_environment())
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise BotDefinitionError(f"{where}: {path.name} is not a Word document (.docx): {type(exc).__name__}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise BotDefinitionError(f"{where}: {path.name}: placeholder error: {exc.message}",
                                 "Open the template in Word and correct the {{ }} or {% %} placeholder.") from None


def render_document(template: Path, out_path: Path, context: dict) -> Path:
    """Fill the template and write the document (atomically: never half a document on disk)."""
    document = DocxTemplate(str(template))
    try:
        document.render(context, _environment(), autoescape=True)
    except jinja2.UndefinedError as exc:
        raise SystemException(f"{template.name}: the template uses a value the item does not have: {exc.message}",
                              "Correct the template's placeholder, then retry the item.") from None
    except jinja2.TemplateError as exc:
        raise SystemException(f"{template.name}: {exc}", "Correct the template, then retry the item.") from None
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp.docx")
    document.save(str(tmp))
    tmp.replace(out_path)
    return out_path
