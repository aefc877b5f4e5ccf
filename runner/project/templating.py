"""Templated values in recipes: `{{ item.qty }}`, `{{ vars.confirmation }}`, `{{ secrets.password }}`.

Jinja2 in a sandbox with strict undefined names. A value that is exactly one
expression keeps its type (a boolean stays a boolean for `check`). The audit copy
of a value is rendered a second time with every secret replaced by a mask, so the
secret never exists in the recorded string at all.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

MASK = "****"
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class TemplateProblem(ValueError):
    """A template that cannot be parsed or rendered; the caller adds the place."""


@dataclass(frozen=True)
class References:
    item_fields: frozenset[str]
    secrets: frozenset[str]
    variables: frozenset[str]


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def references(text: str) -> References:
    """Which item fields, secrets and variables a template uses (checked before a run starts)."""
    try:
        tree = _env.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template error: {exc.message}") from None
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = _env.filters if isinstance(node, nodes.Filter) else _env.tests
        if node.name not in known:
            what = "filter" if isinstance(node, nodes.Filter) else "test"
            near = difflib.get_close_matches(node.name, sorted(known), n=1)
            raise TemplateProblem(f"template error: no {what} named '{node.name}'"
                                  + (f"; did you mean '{near[0]}'?" if near else ""))
    found: dict[str, set[str]] = {"item": set(), "secrets": set(), "vars": set()}
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name in found:
            found[node.node.name].add(node.attr)
    for node in tree.find_all(nodes.Getitem):
        if isinstance(node.node, nodes.Name) and node.node.name in found and isinstance(node.arg, nodes.Const):
            found[node.node.name].add(str(node.arg.value))
    return References(frozenset(found["item"]), frozenset(found["secrets"]), frozenset(found["vars"]))


def uses_name(value: Any, name: str) -> bool:
    """Whether a template reads the top-level variable `name` (e.g. `text` in a fail_if message)."""
    if not is_template(value):
        return False
    try:
        return name in meta.find_undeclared_variables(_env.parse(value))
    except TemplateSyntaxError:
        return False


@lru_cache(maxsize=4096)
def _compiled(value: str):
    """Compile once per distinct template; a run renders the same few hundred strings many times."""
    match = _SINGLE_EXPRESSION.match(value)
    if match and "{{" not in match.group(1) and "{%" not in value:
        return _env.compile_expression(match.group(1).strip(), undefined_to_none=False)
    return _env.from_string(value).render


def render(value: Any, context: dict) -> Any:
    """Render a templated value; a single `{{ expression }}` keeps its native type."""
    if not is_template(value):
        return value
    try:
        result = _compiled(value)(**context)
        if isinstance(result, Undefined):   # a single expression naming nothing: said now, not when it is shown
            result._fail_with_undefined_error()
        return result
    except UndefinedError as exc:
        raise TemplateProblem(f"{exc.message} (in {value!r})") from None
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template error: {exc.message}") from None


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = as_text(value).strip().lower()
    if text in ("true", "yes", "y", "1", "x", "on"):
        return True
    if text in ("false", "no", "n", "0", "", "off", "none"):
        return False
    raise TemplateProblem(f"expected yes or no, got {text!r}")
