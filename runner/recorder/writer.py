"""Write a recording as files a person reviews: the recipe, and new elements in the selector map.

The selector map is edited as text, not re-dumped, so the comments and the order a person gave
an existing map survive: new elements go at the end of their screen's block, new screens at the
end of `elements:`. Both files are written atomically and read back through the normal loaders,
so a recording that could not run is reported at once.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .model import RecordedElement, RecordedStep, Recording


def scalar(value: Any) -> str:
    """One YAML scalar or flow collection on one line, quoted only where YAML needs it."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000, sort_keys=False)
    text = text.rstrip("\n")
    return text.removesuffix("\n...").strip()


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# -- recipes ---------------------------------------------------------------------------------
def _with_comment(line: str, comment: str) -> str:
    return f"{line}  # {comment}" if comment else line


def _step_lines(step: RecordedStep) -> list[str]:
    if step.action == "todo":   # an action the recorder could not capture: a comment where it happened
        return [f"  # TODO: {step.args}"]
    lines: list[str] = []
    if isinstance(step.args, dict):
        lines.append(_with_comment(f"  - {step.action}:", step.comment))
        lines += [f"      {key}: {scalar(value)}" for key, value in step.args.items()]
    else:
        lines.append(_with_comment(f"  - {step.action}: {scalar(step.args)}", step.comment))
    if step.when:
        lines.append(f"    when: {scalar(step.when)}")
    if step.commits:
        lines.append("    commits: true             # the browser saw this step send the first write: it saves")
    if step.key_step:
        lines.append("    key_step: true            # the number the application gave the record")
    return lines


def recipe_text(recording: Recording, name: str, description: str) -> str:
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        f"# Recorded with `backroom record {recording.kind}` on {stamp} from {recording.source}.",
        "# Review before use: element names come from the screen's labels (selectors/"
        f"{recording.app}.yaml), values that",
        "# matched the sample item are templated, secrets are references. Notes on the right say what to check.",
        f"name: {scalar(name)}",
        f"app: {scalar(recording.app)}",
        f"description: {scalar(description)}",
        "steps:",
    ]
    for step in recording.steps:
        lines += _step_lines(step)
    return "\n".join(lines) + "\n"


# -- selector maps ---------------------------------------------------------------------------
def _candidate_lines(candidate: dict[str, Any], indent: str) -> list[str]:
    items = list(candidate.items())
    first, *rest = items
    lines = [f"{indent}- {first[0]}: {scalar(first[1])}"]
    lines += [f"{indent}  {key}: {scalar(value)}" for key, value in rest]
    return lines


def element_lines(element: RecordedElement) -> list[str]:
    lines = [_with_comment(f"    {element.element}:", element.description)]
    if element.frames:
        frame = element.frames[0] if len(element.frames) == 1 else list(element.frames)
        lines.append(f"      frame: {scalar(frame)}")
    if element.secret:
        lines.append("      secret: true")
    lines.append("      find:")
    for candidate in element.candidates:
        lines += _candidate_lines(candidate, "        ")
    return lines


def new_map_text(app: str, kind: str, description: str, window: str | None) -> str:
    lines = [
        f"# {app}: selector map written by `backroom record {kind}`. Each element lists candidate locators,",
        "# most stable first: at run time the first that matches exactly one element wins, and a later",
        "# winner is recorded as a heal. Rename elements freely: recipes refer to them by these names.",
        f"app: {scalar(app)}",
        f"kind: {kind}",
        f"description: {scalar(description)}",
    ]
    if window:
        lines.append(f"window: {scalar(window)}")
    lines.append("elements:")
    return "\n".join(lines) + "\n"


_TOP_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")
_SCREEN = re.compile(r"^  ([A-Za-z_][\w-]*)\s*:\s*(#.*)?$")


def map_with_screens(text: str, windows: dict[str, str]) -> str:
    """The desktop map's text with a `screens:` entry for each screen shown in a window of its own (a
    dialog), so a run types into that screen only when its window is in front. Entries kept as they are."""
    lines = text.rstrip("\n").split("\n")
    start = next((i for i, line in enumerate(lines) if re.match(r"^screens\s*:\s*(#.*)?$", line)), None)
    if start is None:
        at = next((i for i, line in enumerate(lines) if re.match(r"^elements\s*:", line)), len(lines))
        lines[at:at] = ["screens:   # screens shown in a window of their own: the start of its title"]
        start = at
    end = next((i for i in range(start + 1, len(lines)) if _TOP_KEY.match(lines[i])), len(lines))
    known = {m.group(1) for i in range(start + 1, end) if (m := _SCREEN.match(lines[i]))}
    block = [f"  {screen}: {{window: {scalar(title)}}}" for screen, title in windows.items() if screen not in known]
    lines[end:end] = block
    return "\n".join(lines) + "\n"


def map_with_elements(text: str, elements: list[RecordedElement]) -> str:
    """The selector map's text with the new elements inserted under their screens."""
    lines = text.rstrip("\n").split("\n")
    start = next((i for i, line in enumerate(lines) if re.match(r"^elements\s*:\s*(#.*)?$", line)), None)
    if start is None:
        lines.append("elements:")
        start = len(lines) - 1
    end = next((i for i in range(start + 1, len(lines)) if _TOP_KEY.match(lines[i])), len(lines))
    by_screen: dict[str, list[RecordedElement]] = {}
    for element in elements:
        by_screen.setdefault(element.screen, []).append(element)
    for screen, members in by_screen.items():
        block = [line for e in members for line in element_lines(e)]
        screens = {m.group(1): i for i in range(start + 1, end) if (m := _SCREEN.match(lines[i]))}
        if screen in screens:
            at = next((i for i in range(screens[screen] + 1, end) if _SCREEN.match(lines[i])), end)
        else:
            at = end
            block = ([""] if at > start + 1 else []) + [f"  {screen}:"] + block
        while at - 1 > start and not lines[at - 1].strip():
            at -= 1  # before the blank lines that close the block
        lines[at:at] = block
        end += len(block)
    return "\n".join(lines) + "\n"
