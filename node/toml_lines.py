"""Where a key of a TOML document is written: `key_lines(text)` maps each key path to its line.

tomllib gives values, not positions, so this reads the text line by line the way TOML is laid
out: table headers (`[a.b]`), arrays of tables (`[[feeds]]`, numbered 0, 1, ... in the path as
pydantic numbers list items), sub-tables of the current array entry (`[feeds.aggregation]`),
dotted and quoted keys (`a."b.c" = 1`), and array values, one path per element, also over
several lines. Inline tables and anything unrecognised fall back to the nearest enclosing key
(`locate`), so every path gets the most precise line the text allows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

Path = tuple[str | int, ...]


def key_lines(text: str) -> dict[Path, int]:
    """Key path -> 1-based line of its key (or header); array elements as (..., index)."""
    lines: dict[Path, int] = {}
    arrays: dict[Path, int] = {}  # array-of-tables path -> its current index
    table: Path = ()
    pending: tuple[Path, int] | None = None  # an array value still open: its path, next index
    depth = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        if pending is not None:
            pending, depth = _array_elements(line, pending, depth, number, lines)
            continue
        if not line:
            continue
        if line.startswith("[[") and line.endswith("]]"):
            *parents, name = _split_key(line[2:-2])
            header = (*_with_indices(parents, arrays), name)
            arrays[header] = arrays.get(header, -1) + 1
            table = (*header, arrays[header])
            lines.setdefault(header, number)
            lines[table] = number
        elif line.startswith("[") and line.endswith("]"):
            table = _with_indices(_split_key(line[1:-1]), arrays)
            lines.setdefault(table, number)
        else:
            key, sep, value = _partition_outside_quotes(line, "=")
            if not sep:
                continue
            path = (*table, *_split_key(key))
            for i in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:i], number)
            value = value.strip()
            if value.startswith("["):
                pending, depth = _array_elements(value[1:], (path, 0), 1, number, lines)
    return lines


def locate(lines: dict[Path, int], path: Sequence[str | int]) -> int | None:
    """The line of `path`, else of its nearest enclosing key or table; None if none is written."""
    key = tuple(path)
    while key:
        if key in lines:
            return lines[key]
        key = key[:-1]
    return None


def _with_indices(header: Sequence[str], arrays: dict[Path, int]) -> Path:
    """A header's path with the current index after each array-of-tables prefix."""
    out: list[str | int] = []
    for part in header:
        out.append(part)
        index = arrays.get(tuple(out))
        if index is not None:
            out.append(index)
    return tuple(out)


def _array_elements(
    text: str, pending: tuple[Path, int], depth: int, number: int, lines: dict[Path, int]
) -> tuple[tuple[Path, int] | None, int]:
    """Record the elements of an array value that start in `text` (depth 1 = inside it)."""
    path, index = pending
    expecting = True  # at depth 1, the next character that is not a comma starts an element
    for char in _outside_strings(text):
        if depth == 1:
            if char == "]":
                return None, 0
            if char == ",":
                expecting = True
                continue
            if expecting:
                lines.setdefault((*path, index), number)
                index += 1
                expecting = False
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return (path, index), depth


def _outside_strings(text: str) -> Iterator[str]:
    """The non-blank characters of `text` outside strings; a string shows as its opening quote."""
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
            yield char
        elif char not in " \t":
            yield char


def _split_key(key: str) -> list[str]:
    parts: list[str] = []
    rest = key.strip()
    while rest:
        part, sep, rest = _partition_outside_quotes(rest, ".")
        parts.append(part.strip().strip("\"'"))
        if not sep:
            break
    return parts


def _partition_outside_quotes(text: str, sep: str) -> tuple[str, str, str]:
    quote = ""
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == sep:
            return text[:i], sep, text[i + 1 :]
    return text, "", ""


def _strip_comment(line: str) -> str:
    head, sep, _ = _partition_outside_quotes(line, "#")
    return head if sep else line
