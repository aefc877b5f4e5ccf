"""How a run looks in a terminal: the live bar while it works and the summary after it."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn
from rich.text import Text

OUTCOME_TEXT = {"done": "done", "business_exception": "need review (business)",
                "system_exception": "failed (system, retries used up)", "rejected": "rejected at intake",
                "not_started": "not started"}


def print_summary(console: Console, result) -> None:
    console.print(f"Run {result.run_id}", highlight=False)
    console.print(Text(result.counts.text(), style="bold"), highlight=False)   # the words the console and report use
    problems = [i for i in result.items if i.outcome not in ("done", "skipped")]
    for item in problems[:10]:
        said = item.message or OUTCOME_TEXT.get(item.outcome, item.outcome)
        console.print(Text(f"  {item.reference}: ", style="yellow") + Text(said))
    if len(problems) > 10:
        console.print(f"  ... and {len(problems) - 10} more: see the report")
    read_back = getattr(result, "read_back", None) or {}
    if read_back:
        console.print(Text(f"Read back:       {read_back_summary(read_back)}"), highlight=False)
    if result.message:
        console.print(Text("Run stopped: ", style="red") + Text(result.message))
    if result.results_path:
        console.print(Text(f"Result workbook: {result.results_path}"))
    console.print(Text(f"Audit report:    {result.report_path}"))


def read_back_summary(tally: dict[str, int]) -> str:
    """How the typed values held up: '212 values verified, 3 typed again, 1 refused'."""
    parts = [f"{tally.get('verified', 0)} value{'s' if tally.get('verified', 0) != 1 else ''} verified"]
    for key, words in (("retyped", "typed again"), ("refused", "refused (the field kept something else)"),
                       ("changed", "changed before saving"), ("key_refused", "key reads refused"),
                       ("waited", "waits for a window or a covered target"), ("off", "not checked (verify: false)")):
        if tally.get(key):
            parts.append(f"{tally[key]} {words}")
    return ", ".join(parts)


def progress_counts(progress) -> str:
    """'invoices · 3 done, 1 for review': the run's unit and its counts so far, in the summary's words."""
    return f"{progress.counts.unit} · {', '.join(progress.counts.parts(waiting=False))}"


class RunBar:
    """A rich progress bar fed with Progress reports."""

    def __init__(self, console: Console):
        self.bar = Bar(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), console=console, transient=False)
        self.task = self.bar.add_task("Working", total=None, counts="")

    def __enter__(self) -> "RunBar":
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def show(self, progress) -> None:
        self.bar.update(self.task, total=progress.total, completed=progress.finished,
                        counts=progress_counts(progress),
                        description=f"Working {progress.current}" if progress.current else "Working")

    def pause(self) -> None:
        self.bar.stop()

    def resume(self) -> None:
        self.bar.start()
