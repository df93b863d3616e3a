"""``python -m reference catalogue``: the catalogue table (Markdown) the README embeds.

``python -m reference show LOSS``: one loss's docstring, parameters, arguments and layouts.
"""

from __future__ import annotations

import argparse
import sys

from . import get
from .registry import catalogue_markdown
from .shapes import describe


def _show(name: str) -> str:
    spec = get(name)
    lines = [f"{spec.name} ({spec.family}): {spec.summary}", "", spec.doc, "", "arguments:"]
    for a in spec.arrays:
        opt = " (optional)" if a.optional else ""
        lines.append(f"  {a.name}{opt}: {a.description}; domain {a.domain}")
    lines.append("parameters:")
    for p in spec.params:
        lines.append(f"  {p.name} = {p.default!r}: must {p.rule}; tested at {p.grid}")
    lines.append(f"layouts: {describe(spec.layouts, {})}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("catalogue", help="print the catalogue as a Markdown table")
    show = sub.add_parser("show", help="describe one loss")
    show.add_argument("loss")
    args = parser.parse_args(argv)
    if args.command == "catalogue":
        print(catalogue_markdown())
        return 0
    try:
        print(_show(args.loss))
    except KeyError as exc:
        print(f"python -m reference show: {exc.args[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
