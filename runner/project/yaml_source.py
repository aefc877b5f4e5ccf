"""Load YAML while remembering the line of every key and list entry.

Recipes, selector maps and bot definitions are written by people; their errors must
point at `file:line`. PyYAML's node marks give the lines; pydantic's error locations
are mapped back to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import DataError


class LocatedDict(dict):
    """A mapping that knows the line it starts on and the line of each key."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list):
    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.MarkedYAMLError(problem=f"key '{key}' appears twice", problem_mark=key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def display_path(path: Path, base: Path | None = None) -> str:
    """Paths in messages are relative to the project (`recipes/x.yaml`), else to the working directory."""
    resolved = Path(path).resolve()
    for root in ([Path(base)] if base is not None else []) + [Path.cwd()]:
        try:
            return resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def load_yaml(path: Path, error_class: type[DataError] = DataError, where: str | None = None) -> Any:
    path = Path(path)
    where = where or display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error_class(f"{where}: file not found") from None
    except UnicodeDecodeError:
        raise error_class(f"{where}: not a UTF-8 text file") from None
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise error_class(f"{where}:{line}: YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise error_class(f"{where}: YAML error: {exc}") from None
    if data is None:
        raise error_class(f"{where}:1: the file is empty")
    return data


def line_for(data: Any, loc: tuple) -> int:
    """The line of the deepest node of `data` that `loc` (a pydantic location) reaches."""
    line = getattr(data, "line", 0)
    node = data
    for part in loc:
        if isinstance(node, LocatedDict) and part in node:
            line = node.line_of(part)
            node = node[part]
        elif isinstance(node, LocatedList) and isinstance(part, int) and part < len(node):
            line = node.line_of(part)
            node = node[part]
        else:
            break
    return line


def validate(model: type[BaseModel], data: Any, where: str, error_class: type[DataError]):
    """Validate `data` against `model`; raise one error listing every problem as `file:line: message`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            line = line_for(data, loc)
            field = ".".join(str(p) for p in loc)
            text = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                text = f"unknown key '{loc[-1]}'"
            elif err["type"] == "missing":
                text = f"'{loc[-1]}' is required"
            named = field and err['type'] not in ('extra_forbidden', 'missing')
            messages.append(f"{where}:{line}: {field + ': ' if named else ''}{text}")
        raise error_class("\n".join(messages)) from None
