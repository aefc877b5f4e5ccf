"""Money and dates read from statements, ledgers and job sheets: Decimal only, parsed strictly.

A bad value raises ValueProblem with a message that says what was expected; the caller adds
the place (`statement.xlsx!C7`, `BILLSYS ledger page 2 row 5`). Amounts are never floats:
an Excel number cell arrives as a float and goes through repr(), so 12.1 stays 12.1.
Locale rules (which character groups thousands) and each currency's minor units come from
babel, so `1.234,56 EUR` parses under de_DE and `1,234.567 USD` is refused.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import NumberFormatError, get_currency_precision, get_currency_symbol, list_currencies, parse_decimal

CENT = Decimal("0.01")


class ValueProblem(ValueError):
    """A cell or screen value that is not what the field needs; the message names what was expected."""


def minor_units(currency: str) -> int:
    """Decimals a currency is quoted in: USD 2, JPY 0, BHD 3."""
    return get_currency_precision(currency.upper())


def _strip_currency(text: str, currency: str, locale: str) -> str:
    code = currency.upper()
    symbol = get_currency_symbol(code, locale=locale)
    found = re.findall(r"\b[A-Z]{3}\b", text.upper())
    other = [c for c in found if c != code and c in list_currencies()]
    if other:
        raise ValueProblem(f"in {other[0]}, expected {code}, got \"{text}\"")
    cleaned = re.sub(rf"\b{code}\b", "", text, flags=re.IGNORECASE)
    if symbol and symbol != code:
        cleaned = cleaned.replace(symbol, "")
    if re.search(r"[$€£¥]", cleaned):
        raise ValueProblem(f"amount has a currency sign that is not {code} ({symbol}), got \"{text}\"")
    return cleaned.strip()


def parse_amount(value, currency: str = "USD", locale: str = "en_US") -> Decimal:
    """A money amount from a cell or a screen, exact to the currency's minor units.

    Accepted: numbers; text with the currency's code or symbol, thousands separators of the
    locale, a leading minus, accounting parentheses `(1,234.56)` or a trailing `CR`/`-` for a
    negative amount. Refused: other currencies, misplaced separators, more decimals than the
    currency has, text that is not a number.
    """
    places = minor_units(currency)
    if isinstance(value, bool):
        raise ValueProblem(f"expected an amount, got {value!r}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueProblem(f"expected an amount, got {value!r}")
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        amount = _parse_amount_text(value, currency, locale)
    else:
        raise ValueProblem(f"expected an amount, got {type(value).__name__} {value!r}")
    if not amount.is_finite():
        raise ValueProblem(f"expected an amount, got {value!r}")
    if amount != amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):
        raise ValueProblem(f"{currency.upper()} has {places} decimal{'s' if places != 1 else ''}, got {value!r}")
    return amount.quantize(Decimal(1).scaleb(-places))


def _parse_amount_text(value: str, currency: str, locale: str) -> Decimal:
    text = value.strip()
    if not text:
        raise ValueProblem("expected an amount, the value is empty")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    if re.search(r"\s*(CR|-)$", text, flags=re.IGNORECASE) and not text.startswith("-"):
        negative, text = True, re.sub(r"\s*(CR|-)$", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*DR$", "", text, flags=re.IGNORECASE)
    text = _strip_currency(text, currency, locale)
    if text.startswith("-"):
        negative, text = not negative, text[1:].strip()
    if not re.fullmatch(r"[0-9][0-9.,\u00a0\u202f' ]*", text):
        raise ValueProblem(f"expected an amount such as 1,234.56 {currency.upper()}, got \"{value}\"")
    try:
        amount = parse_decimal(text, locale=locale, strict=True)
    except NumberFormatError as exc:
        hint = f" (did you mean {exc.suggestions[0]}?)" if getattr(exc, "suggestions", None) else ""
        raise ValueProblem(f"\"{value}\" is not an amount written the {locale} way{hint}") from None
    except InvalidOperation:
        raise ValueProblem(f"expected an amount, got \"{value}\"") from None
    return -amount if negative else amount


def parse_day(value, formats: list[str]) -> date:
    """A calendar date from a date cell or from text in one of the given formats; nothing guessed."""
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise ValueProblem(f"expected a date without a time, got {value.isoformat(sep=' ')}")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        for fmt in formats:
            try:
                return datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
        shown = ", ".join(datetime(2026, 1, 31).strftime(f) for f in formats)
        raise ValueProblem(f"expected a date like {shown}, got \"{value}\"")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueProblem("expected a date, the value is empty")
    raise ValueProblem(f"expected a date, got {value!r}")


def money_text(amount: Decimal, currency: str = "USD") -> str:
    """1234.5 -> '1,234.50' with the currency's decimals; for documents and messages."""
    places = minor_units(currency)
    return f"{amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,.{places}f}"


def round_money(amount: Decimal, currency: str = "USD") -> Decimal:
    """Round half up to the currency's minor units, as invoices and tax are rounded."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)
