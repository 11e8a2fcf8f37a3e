"""Reading YAML content files with line numbers, so that every error names file, field and line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    line: int | None = None


class ContentError(Exception):
    """A content file that cannot be used. The message lists every problem found."""

    def __init__(self, path: Path | str, problems: Sequence[Problem]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        lines = [
            f"{self.path}:{p.line if p.line else '?'}: {p.field or '(top level)'}: {p.message}"
            for p in self.problems
        ]
        super().__init__("\n".join(lines))


def field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the deepest node along `loc` that exists in the file."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == part), None)
            if found is None:
                key = next((k for k, _ in node.value if k.value == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The parsed data and its node tree. Raises ContentError for unreadable or broken YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ContentError(path, [Problem("", f"cannot read the file: {e}")]) from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path | str) -> tuple[Any, yaml.Node | None]:
    """`text` parsed, with its node tree (for lines); ContentError names `path` when broken."""
    try:
        # One parse (libyaml's, where PyYAML has it) gives the node tree, and the data is built
        # from that tree by YAML's safe constructor.
        node = yaml.compose(text, Loader=LOADER)
        data = None if node is None else yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ContentError(path, [Problem("", f"not valid YAML: {e}", line)]) from None
    return data, node


def validate(model: type[M], path: Path | str, data: Any, node: yaml.Node | None) -> M:
    """`data` checked against `model`; every failure becomes a Problem with its line."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
            problems.append(Problem(field_path(loc), msg, line_of(node, loc)))
        raise ContentError(path, problems) from None


def load_entry(model: type[M], path: Path, what: str) -> M:
    """One content file holding one `model` whose `id` must equal the file name."""
    data, node = load_yaml(path)
    return _entry(
        model, path, data, node, what, path.stem, f"must match the file name ({path.stem!r})"
    )


def entry_from_text(model: type[M], text: str, where: str, what: str, expect_id: str | None) -> M:
    """One `model` written as YAML `text` (a case or an instrument edited in the browser), with
    the same checks as its file; `expect_id`, when given, is the id it must keep."""
    data, node = parse_yaml(text, where)
    why = f"must stay {expect_id!r} (the one being edited)"
    return _entry(model, where, data, node, what, expect_id, why)


def _entry(
    model: type[M],
    where: Path | str,
    data: Any,
    node: yaml.Node | None,
    what: str,
    expect_id: str | None,
    wrong_id: str,
) -> M:
    if not isinstance(data, dict):
        raise ContentError(where, [Problem("", f"expected a mapping of {what} fields", 1)])
    entry = validate(model, where, data, node)
    if expect_id is not None and getattr(entry, "id", None) != expect_id:
        raise ContentError(where, [Problem("id", wrong_id, 1)])
    return entry


def load_folder(folder: Path, load: Callable[[Path], M], what: str) -> dict[str, M]:
    """Every *.yaml/*.yml entry in `folder`, by id. Raises ContentError listing the problems of
    every broken file, not only the first."""
    found: dict[str, M] = {}
    errors: list[ContentError] = []
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise ContentError(folder, [Problem("", f"no {what} files (*.yaml) here")])
    for f in files:
        try:
            entry = load(f)
        except ContentError as e:
            errors.append(e)
            continue
        found[str(getattr(entry, "id"))] = entry  # noqa: B009
    if errors:
        raise ContentError(folder, [Problem("", str(e)) for e in errors])
    return found
