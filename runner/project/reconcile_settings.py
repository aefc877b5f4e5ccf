"""The `reconcile:` section of a reconciliation bot's bot.yaml, validated with its line numbers."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from babel.numbers import list_currencies

from .money import minor_units

DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnsSpec(_Strict):
    """Header text of each column; reference, date and amount are needed, the rest are optional."""

    date: str = "Date"
    amount: str = "Amount"
    reference: str = "Reference"
    account: str | None = None
    description: str | None = None


class BalanceLabels(_Strict):
    # Rows whose text says this carry a stated balance instead of a transaction.
    opening: str | None = "Opening balance"
    closing: str | None = "Closing balance"


class StatementSpec(_Strict):
    sheet: str | None = None          # default: the first sheet; not used for CSV
    header_row: int = Field(default=1, ge=1)
    columns: ColumnsSpec = Field(default_factory=ColumnsSpec)
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))
    balance_labels: BalanceLabels = Field(default_factory=BalanceLabels)


class LedgerSpec(_Strict):
    recipes: list[str] = Field(min_length=1)   # log in, open the ledger, read_table into `rows`
    rows: str = "ledger_rows"                  # the variable the table was read into
    total: str | None = None                   # the variable holding the total the screen states
    columns: ColumnsSpec = Field(default_factory=ColumnsSpec)
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))


class MatchingSpec(_Strict):
    date_window_days: int = Field(default=3, ge=0, le=366)
    tolerance: Decimal = Field(default=Decimal("0"), ge=0)   # in the currency, e.g. 0.05
    group_max_lines: int = Field(default=4, ge=0, le=10)
    group_max_candidates: int = Field(default=15, ge=2, le=40)
    group_max_steps: int = Field(default=20_000, ge=100, le=10_000_000)
    same_account: bool = True


class ReconcileSpec(_Strict):
    currency: str = "USD"
    locale: str = "en_US"             # how amounts are written: 1,234.56 (en_US) or 1.234,56 (de_DE)
    ledger_name: str = "Ledger"       # what the workbook calls the ledger side
    statement: StatementSpec = Field(default_factory=StatementSpec)
    ledger: LedgerSpec
    matching: MatchingSpec = Field(default_factory=MatchingSpec)

    @field_validator("currency")
    @classmethod
    def known_currency(cls, value: str) -> str:
        if value.upper() not in list_currencies():
            raise ValueError(f"unknown currency code '{value}' (use ISO 4217, e.g. USD, EUR)")
        return value.upper()

    @model_validator(mode="after")
    def tolerance_fits_currency(self):
        self.tolerance_minor()
        return self

    def tolerance_minor(self) -> int:
        places = minor_units(self.currency)
        scaled = self.matching.tolerance.scaleb(places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"tolerance {self.matching.tolerance} has more decimals than {self.currency}")
        return int(scaled)
