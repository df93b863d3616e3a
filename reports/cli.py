"""``python -m reports``: render, diff and summarise results files.

Exit status: 0 success, 1 the diff found a regression (or the merged shards' registry has stale
entries), 2 unusable input (one line on stderr
naming the file and the problem, never a traceback).
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

from rich.console import Console

from . import diff as diffing
from . import merge as merging
from .schema import Results, ResultsError
from .summary import print_summary

EXIT_OK, EXIT_REGRESSED, EXIT_UNUSABLE = 0, 1, 2


def expand_inputs(arguments: list[str]) -> list[str]:
    """Files as given, every ``*.json`` of a directory, and the matches of glob patterns."""
    paths: list[str] = []
    for argument in arguments:
        if Path(argument).is_dir():
            found = sorted(str(path) for path in Path(argument).glob("*.json"))
            if not found:
                raise ResultsError(f"{argument}: no results files (*.json) in this directory")
            paths += found
        elif glob.has_magic(argument):
            found = sorted(glob.glob(argument))
            if not found:
                raise ResultsError(f"{argument}: no file matches this pattern")
            paths += found
        else:
            paths.append(argument)
    return list(dict.fromkeys(paths))  # the same file named twice is one run


def load_all(arguments: list[str]) -> list[Results]:
    if not arguments:
        raise ResultsError("no results files given")
    return merging.load_runs(expand_inputs(arguments))


def one_run(argument: str) -> Results:
    """A results file, or the shards of one run (a directory or glob of its shard files)."""
    runs = merging.load_runs(expand_inputs([argument]))
    if len(runs) != 1:
        raise ResultsError(f"{argument}: holds {len(runs)} runs; the diff compares one with one")
    return runs[0]


def command_html(args: argparse.Namespace) -> int:
    from .html import render_report, write_page  # matplotlib: imported only when drawing

    results = load_all(args.results)
    write_page(args.output, render_report(results, title=args.title))
    records = sum(len(r.records) for r in results)
    print(f"wrote {args.output} ({len(results)} runs, {records} records)")
    return EXIT_OK


def command_diff(args: argparse.Namespace) -> int:
    result = diffing.diff_results(one_run(args.old), one_run(args.new))
    text = diffing.format_markdown(result) if args.markdown else diffing.format_text(result)
    sys.stdout.write(text)
    if args.html:
        from .html import render_diff, write_page  # matplotlib: imported only when drawing

        write_page(args.html, render_diff(result))
    if result.regressions and args.exit_zero:
        print("(regressions found; exiting 0 because of --exit-zero)")
        return EXIT_OK
    return EXIT_REGRESSED if result.regressions else EXIT_OK


def command_merge(args: argparse.Namespace) -> int:
    document = merging.merge_files(expand_inputs(args.shards), args.output)
    stale = [e["id"] for e in document["registry"] if e.get("status") == "stale"]
    run = document["run"]
    print(
        f"wrote {args.output} ({run['merged_shards']} shards, {len(document['records'])} records"
        f"{'' if run['finished'] else ', unfinished: stopped at ' + str(run['stopped_at'])})"
    )
    if stale:
        print(f"stale registry entries (they no longer reproduce): {', '.join(stale)}")
        return EXIT_REGRESSED
    return EXIT_OK


def command_summary(args: argparse.Namespace) -> int:
    print_summary(load_all(args.results), Console(highlight=False))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m reports",
        description="Render, compare and summarise lossconf results files.",
        epilog="Exit status: 0 fine, 1 the diff found a regression, 2 unusable input.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    html = commands.add_parser(
        "html",
        help="one self-contained HTML report from any number of results files",
        description="Combine results files (files, directories of *.json, or glob patterns) "
        "into one self-contained HTML page.",
    )
    html.add_argument("results", nargs="*", metavar="RESULTS", help="file, directory or glob")
    html.add_argument("-o", "--output", required=True, metavar="OUT.html")
    html.add_argument("--title", default="lossconf conformance report")
    html.set_defaults(run=command_html)

    diff = commands.add_parser(
        "diff",
        help="what changed between two runs of one framework (exit 1 on regression)",
        description="Compare two results files of the same framework, typically before and "
        "after an upgrade on the same corpus. Exit status 1 when anything regressed.",
    )
    diff.add_argument("old", metavar="OLD", help="results file, or the shards of one run")
    diff.add_argument("new", metavar="NEW", help="results file, or the shards of one run")
    diff.add_argument("--markdown", action="store_true", help="Markdown, e.g. for a PR comment")
    diff.add_argument("--html", metavar="OUT.html", help="also write the diff as an HTML page")
    diff.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when something regressed (CI checks the workflow, not the versions); "
        "unusable input still exits 2",
    )
    diff.set_defaults(run=command_diff)

    merge = commands.add_parser(
        "merge",
        help="join the shards of one run (--shard i/n) into its results file",
        description="Join the results files of the n shards of one run into the file the "
        "unsharded run writes; refuses files of different runs. Exit 1 when the joined "
        "registry has stale entries (the check each shard alone cannot make).",
    )
    merge.add_argument("shards", nargs="+", metavar="SHARD", help="file, directory or glob")
    merge.add_argument("-o", "--output", required=True, metavar="RUN.json")
    merge.set_defaults(run=command_merge)

    summary = commands.add_parser(
        "summary",
        help="compact terminal table of verdict counts and unexpected records",
        description="Verdict counts per framework × dtype × mode, then what needs attention.",
    )
    summary.add_argument("results", nargs="*", metavar="RESULTS", help="file, directory or glob")
    summary.set_defaults(run=command_summary)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ResultsError as error:
        print(f"error: {error}", file=sys.stderr)
    except OSError as error:  # writing the output: a missing folder we cannot create, a full disk
        print(f"error: {error.filename}: {error.strerror}", file=sys.stderr)
    return EXIT_UNUSABLE
