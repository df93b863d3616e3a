"""The terminal summary: marks per framework × dtype × mode (the verdict over ordinary inputs;
a format-1 record's overall verdict), the findings (one line per distinct behaviour, most
important first), then what needs attention: unfinished runs, records that failed the run and
stale registry entries."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .model import DTYPE_ORDER, MODE_ORDER, Finding, build_report, label_runs, order_key
from .schema import Results
from .verdicts import SYMBOLS, VERDICTS

STYLES = {
    "match": "green",
    "mismatch": "bold red",
    "convention": "blue",
    "error-mismatch": "bold yellow",
    "crash": "bold magenta",
    "not-offered": "dim",
}
RANK_STYLES = ("bold red", "bold magenta", "yellow", "dark_goldenrod", "blue")


def counts_table(results: list[Results]) -> Table:
    # Symbol headers keep the table inside 80 columns (CI logs); legend() spells them out.
    table = Table(title="lossconf results", title_justify="left", box=None, padding=(0, 2, 0, 0))
    table.add_column("framework", no_wrap=True)
    table.add_column("dtype", no_wrap=True)
    table.add_column("mode", no_wrap=True)
    for verdict in VERDICTS:
        table.add_column(SYMBOLS[verdict], justify="right", style=STYLES[verdict], min_width=3)
    table.add_column("unexpected", justify="right")
    table.add_column("triage", justify="right")
    for run in label_runs(results):
        groups: dict[tuple[str, str], Counter] = {}
        for record in run.results.records:
            group = groups.setdefault((record["dtype"], record["mode"]), Counter())
            # the mark: the verdict over ordinary inputs where the record has regimes
            mark = record["regime_headline"] if record["regimes"] else record["verdict"]
            group[mark or "none"] += 1
            group["unexpected"] += bool(record["failing"])
            group["triage"] += int(record["triage"] or 0)
        label = run.label if run.finished else f"{run.label} ⚠"
        ordered = sorted(
            groups, key=lambda k: (order_key(k[0], DTYPE_ORDER), order_key(k[1], MODE_ORDER))
        )
        for dtype, mode in ordered:
            counts = groups[(dtype, mode)]
            unexpected, triage = counts["unexpected"], counts["triage"]
            table.add_row(
                label,
                dtype,
                mode,
                *(str(counts[verdict]) if counts[verdict] else "·" for verdict in VERDICTS),
                Text(str(unexpected), style="bold red") if unexpected else Text("·"),
                Text(str(triage), style="yellow") if triage else Text("·"),
            )
            label = ""
    return table


def _short_list(values: list[str], shown: int = 2) -> str:
    more = f" +{len(values) - shown}" if len(values) > shown else ""
    return ", ".join(values[:shown]) + more


def finding_line(number: int, finding: Finding) -> Text:
    """One finding: rank, what, where (regimes, runs, dtypes, configurations), examples."""
    line = Text(f"{number:>3}. ", style="dim")
    line.append(f"[{finding.rank_name}] ", style=RANK_STYLES[finding.rank])
    line.append(finding.title, style="bold" if finding.rank < 3 else "")
    regimes = ", ".join(f"{name} {count}" for name, count in finding.regime_list)
    where = " · ".join(
        part
        for part in (
            _short_list(list(finding.runs)),
            "/".join(finding.ordered_dtypes),
            _short_list(finding.ordered_configs),
        )
        if part
    )
    line.append(f" — {regimes} — {where} — {finding.examples} examples", style="")
    return line


def findings_lines(results: list[Results]) -> list[Text]:
    return [finding_line(n, f) for n, f in enumerate(build_report(results).findings, start=1)]


def legend() -> Text:
    text = Text()
    for verdict in VERDICTS:
        text.append(f"{SYMBOLS[verdict]} {verdict}", style=STYLES[verdict])
        text.append("  ")
    return text


def _attention_detail(record: dict) -> str:
    """What went wrong in an unexpected record: the worst example's comparison (both numbers),
    and for a crash or error-mismatch the framework's exception. The exceptions of invalid
    inputs, which a mismatch record also holds, are expected and not shown."""
    worst = record.get("worst") or {}
    if worst.get("detail"):
        detail = f": {worst['detail']}"
    else:  # a record without the worst comparison's text: its largest errors
        parts = [
            f"worst {part} {worst[f'{part}_ulp']:g} ULP"
            for part in ("value", "grad")
            if isinstance(worst.get(f"{part}_ulp"), (int, float))
        ]
        detail = f", {', '.join(parts)}" if parts else ""
    if record["verdict"] in ("crash", "error-mismatch") and record.get("errors"):
        error = record["errors"][0]
        detail += f"; {error.get('type', 'error')}: {error.get('message', '')}"
    return detail


def attention_lines(results: list[Results]) -> list[Text]:
    """Unfinished runs, unexpected records and stale registry entries, one line each."""
    lines = []
    for run in label_runs(results):
        if not run.finished:
            stopped = run.info["stopped_at"] or "before its first test"
            lines.append(
                Text(f"⚠ {run.label} did not finish: stopped at {stopped}", style="bold red")
            )
        for record in run.results.records:
            if not record["failing"]:
                continue
            verdict = record["verdict"]
            detail = _attention_detail(record)
            line = Text(
                f"{SYMBOLS.get(verdict, '?')} {verdict:<14} ", style=STYLES.get(verdict, "")
            )
            line.append(
                f"{run.label} {record['config_id']} "
                f"{record['device']} {record['dtype']} {record['mode']}{detail}"
            )
            lines.append(line)
        for entry in run.results.registry:
            if entry["status"] == "stale":
                lines.append(
                    Text(
                        f"stale registry entry {entry['id']} ({run.label}): {entry['description']}",
                        style="yellow",
                    )
                )
    return lines


def print_summary(results: list[Results], console: Console) -> None:
    console.print(counts_table(results))
    console.print(legend())
    findings = findings_lines(results)
    console.print()
    console.print(Text(f"Findings ({len(findings)}), most important first:", style="bold"))
    for line in findings:
        console.print(line, soft_wrap=True)
    lines = attention_lines(results)
    console.print()
    if not lines:
        console.print(Text("No unexpected records, no stale registry entries.", style="green"))
        return
    console.print(Text(f"Needs attention ({len(lines)}):", style="bold"))
    for line in lines:
        console.print(line, soft_wrap=True)  # unwrapped: test ids stay whole for copying
