"""Bot definitions: `bots/<name>/bot.yaml`: where items come from, which recipes run, what is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import BotDefinitionError
from .reconcile_settings import ReconcileSpec
from .settings import ScreenshotPolicy
from .yaml_source import display_path, load_yaml, validate

MAX_WORKERS = 16   # browsers at once on one machine; more belong on another machine (a shared queue)

FieldType = Literal["text", "integer", "decimal", "date", "boolean", "choice"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldSpec(_Strict):
    column: str                      # the header text in the workbook
    type: FieldType = "text"
    required: bool = True
    default: Any = None
    min: float | None = None
    max: float | None = None
    places: int | None = None        # decimals allowed for a decimal field
    choices: list[str] | None = None
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"])

    @model_validator(mode="after")
    def choices_for_choice(self):
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice field needs 'choices'")
        return self


class InputSpec(_Strict):
    type: Literal["excel"] = "excel"
    sheet: str | None = None         # default: the first sheet
    header_row: int = Field(default=1, ge=1)
    reference: str                   # the field that identifies a work item
    fields: dict[str, FieldSpec]

    @model_validator(mode="after")
    def reference_is_a_field(self):
        if self.reference not in self.fields:
            raise ValueError(f"reference '{self.reference}' must be one of the fields")
        return self


class RetrySpec(_Strict):
    attempts: int = Field(default=3, ge=1, le=20)
    backoff_seconds: float = Field(default=2.0, ge=0)


class OutputSpec(_Strict):
    # Extra result columns: header -> template over the item and the variables its recipes read.
    columns: dict[str, str] = Field(default_factory=dict)


class DocumentSpec(_Strict):
    template: str                    # a .docx in the bot's folder, with {{ placeholders }} (docxtpl)
    file: str                        # the file name to write, a template over item and vars


class LeadTimeSpec(_Strict):
    """A figure for the console: days from a date in the item's data to the day the item was done."""
    label: str                       # e.g. "days from job done to invoice"
    date: str                        # a date field; "jobs.completed" reads every job's date of a grouped item


class _BotSpec(_Strict):
    name: str
    description: str = ""
    # keying: each input row (or group of rows, see bot.py make_items) is keyed through recipes;
    # reconcile: the ledger is read through recipes and matched against the input statement.
    kind: Literal["keying", "reconcile"] = "keying"
    input: InputSpec | None = None
    recipes: list[str] = Field(default_factory=list)
    documents: list[DocumentSpec] = Field(default_factory=list)
    reconcile: ReconcileSpec | None = None
    # A recipe that looks the item up in the legacy system; run first when an earlier attempt
    # may already have submitted it, so nothing is keyed twice.
    verify: str | None = None
    # after_commit: only when an earlier attempt may have saved the item; always: before every
    # attempt (for systems where someone else may also key the same work)
    verify_when: Literal["after_commit", "always"] = "after_commit"
    output: OutputSpec = Field(default_factory=OutputSpec)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    screenshots: ScreenshotPolicy | None = None
    # Where input files for this bot arrive (relative to the project); the menu offers the
    # newest first. Default: bots/<bot>/inbox/ when it exists.
    inbox: str | None = None
    lead_time: LeadTimeSpec | None = None
    # after_failure: the next item continues on the screen a clean item left (the same browser page and
    # session, the desktop apps still open) and starts afresh only after a failed item;
    # per_item: every item starts on a fresh browser context
    clean_screen: Literal["after_failure", "per_item"] = "after_failure"
    # how many items a run works at once, each on its own browser (web bots); `--workers` overrides it
    workers: int = Field(1, ge=1, le=MAX_WORKERS)
    # what one work item is, in the plural, as the menu, the console and the report count them
    unit: str = Field("items", min_length=1, max_length=30, pattern=r"^[A-Za-z][A-Za-z -]*$")

    @model_validator(mode="after")
    def parts_for_kind(self):
        if self.kind == "keying" and (self.input is None or not self.recipes):
            raise ValueError("a keying bot needs 'input' and 'recipes'")
        if self.kind == "reconcile" and self.reconcile is None:
            raise ValueError("a reconcile bot needs a 'reconcile' section (statement, ledger, matching)")
        if self.kind == "reconcile" and (self.input is not None or self.recipes):
            raise ValueError("a reconcile bot reads its ledger through reconcile.ledger.recipes; "
                             "remove 'input' and 'recipes'")
        return self


@dataclass
class Bot:
    name: str
    path: Path                 # the bot's folder
    description: str
    input: InputSpec
    recipes: list[str]
    verify: str | None
    verify_when: str
    output: OutputSpec
    retry: RetrySpec
    screenshots: str | None
    sample_input: Path | None
    kind: str = "keying"
    documents: list[DocumentSpec] = field(default_factory=list)
    reconcile: ReconcileSpec | None = None
    inbox: Path | None = None
    lead_time: LeadTimeSpec | None = None
    clean_screen: str = "after_failure"
    workers: int = 1
    unit: str = "items"

    @property
    def input_suffixes(self) -> tuple[str, ...]:
        """The kinds of file a run of this bot reads."""
        return (".xlsx", ".csv") if self.kind == "reconcile" else (".xlsx",)

    @property
    def all_recipes(self) -> list[str]:
        """The recipes a run may use: keying recipes, the verify recipe, the ledger recipes."""
        names = list(self.recipes) + ([self.verify] if self.verify else [])
        return names + (list(self.reconcile.ledger.recipes) if self.reconcile else [])


def load_bot(project: Path, name: str) -> Bot:
    folder = Path(project) / "bots" / name
    path = folder / "bot.yaml"
    if not path.exists():
        known = sorted(p.name for p in (Path(project) / "bots").glob("*") if (p / "bot.yaml").exists())
        raise BotDefinitionError(f"no bot named '{name}' in the project {Path(project).resolve()} "
                                 f"({display_path(path, project)} does not exist)",
                                 f"Known bots there: {', '.join(known) or 'none'}. Run from your project's folder, "
                                 "or choose it with --project DIR (or BACKROOM_PROJECT); backroom init DIR makes one.")
    where = display_path(path, project)
    data = load_yaml(path, BotDefinitionError, where)
    spec = validate(_BotSpec, data, where, BotDefinitionError)
    if spec.name != name:
        raise BotDefinitionError(f"{where}:{data.line_of('name')}: name '{spec.name}' must match the folder '{name}'")
    samples = sorted(p for p in (folder / "sample").glob("*") if p.suffix.lower() in (".xlsx", ".csv")) \
        if (folder / "sample").is_dir() else []
    for number, document in enumerate(spec.documents):
        if not (folder / document.template).is_file():
            line = data["documents"][number].line_of("template")
            raise BotDefinitionError(f"{where}:{line}: document template '{document.template}' is not in "
                                     f"bots/{name}/", "Put the .docx template in the bot's folder.")
    return Bot(name=name, path=folder, description=spec.description, input=spec.input,
               recipes=spec.recipes, verify=spec.verify, verify_when=spec.verify_when, output=spec.output,
               retry=spec.retry, screenshots=spec.screenshots, sample_input=samples[0] if samples else None,
               kind=spec.kind, documents=spec.documents, reconcile=spec.reconcile,
               inbox=Path(project) / spec.inbox if spec.inbox else folder / "inbox", lead_time=spec.lead_time,
               clean_screen=spec.clean_screen, workers=spec.workers, unit=spec.unit.strip())


def list_bots(project: Path) -> list[str]:
    return sorted(p.parent.name for p in (Path(project) / "bots").glob("*/bot.yaml"))
