"""Where the pinned dev-only chain tools (npm `solc`, `anvil`) live on this machine.

The repository pins them in package.json; `npm ci` puts them in `<repo>/node_modules`. We find
that folder by walking up from this package, then from the working directory, so the tools
work from a checkout and from tests alike without configuration.
"""

from __future__ import annotations

from pathlib import Path


def find_node_modules(start: Path | None = None) -> Path | None:
    """Return the nearest `node_modules` folder above `start`, this package, or the cwd."""
    starts = [start] if start is not None else [Path(__file__).resolve().parent, Path.cwd()]
    for origin in starts:
        for folder in (origin, *origin.parents):
            candidate = folder / "node_modules"
            if candidate.is_dir():
                return candidate
    return None
