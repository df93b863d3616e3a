"""What changed between two runs of one framework (an upgrade), and whether it regressed.

The diff is a list of :class:`Section` tables, each marked as a regression or not; the text,
Markdown and HTML renderings only lay those out. Records are matched by
(loss, config_id, dtype, device, mode), corpus outputs by example id.

Regressions (exit status 1): a record that now fails with a verdict it did not have (new
mismatch, error-mismatch or crash), a record that is no longer offered, a value or gradient
that moved beyond the record's tolerance although the verdict stayed match/convention, a
registry entry that went stale, and a new run that did not finish where the old one did.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .schema import Results, ResultsError, record_key
from .ulp import ulps_apart
from .verdicts import FAILING

PASSING = frozenset({"match", "convention"})


@dataclass(frozen=True)
class Section:
    title: str
    regression: bool
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)


@dataclass
class Diff:
    old: Results
    new: Results
    sections: list[Section]
    notes: list[str]

    @property
    def regressions(self) -> int:
        return sum(len(section.rows) for section in self.sections if section.regression)

    @property
    def changed(self) -> list[Section]:
        return [section for section in self.sections if section.rows]


def _where(record: dict[str, Any]) -> str:
    return f"{record['device']} {record['dtype']} {record['mode']}"


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.9g}" if math.isfinite(value) else str(value)
    return str(value)


def _worst(record: dict[str, Any], key: str) -> str:
    return _number((record["worst"] or {}).get(key))


def check_comparable(old: Results, new: Results) -> None:
    if old.run["framework"] != new.run["framework"]:
        raise ResultsError(
            f"{old.path} is {old.run['framework']} but {new.path} is {new.run['framework']}: "
            "diff compares two runs of the same framework"
        )


def _paired(old: Results, new: Results) -> Iterator[tuple[dict | None, dict | None]]:
    """Every record key of either run, with the record of each side (None where absent)."""
    before = {record_key(r): r for r in old.records}
    after = {record_key(r): r for r in new.records}
    for key in sorted(before.keys() | after.keys()):
        yield before.get(key), after.get(key)


def verdict_sections(old: Results, new: Results) -> list[Section]:
    """Classify each verdict change into exactly one section (the first that applies)."""
    columns = ("configuration", "where", "old", "new", "worst value ULP", "note")
    new_failures = Section("New failures", True, columns)
    not_offered = Section("Newly not offered", True, columns)
    fixed = Section("Fixed", False, columns)
    offered = Section("Newly offered", False, columns)
    other = Section("Other verdict changes", False, columns)
    only_old = Section("Only in the old run", False, ("configuration", "where", "old verdict"))
    only_new = Section("Only in the new run", False, ("configuration", "where", "new verdict"))
    for before, after in _paired(old, new):
        if after is None:
            only_old.rows.append((before["config_id"], _where(before), before["verdict"]))
            continue
        was = before["verdict"] if before else "absent"
        now = after["verdict"]
        if before is None and now not in FAILING:
            only_new.rows.append((after["config_id"], _where(after), now))
            continue
        if was == now:
            continue
        note = "known" if after["known"] else ("unexpected" if after["unexpected"] else "")
        row = (after["config_id"], _where(after), was, now, _worst(after, "value_ulp"), note)
        if now in FAILING:
            new_failures.rows.append(row)
        elif now == "not-offered":
            reason = _not_offered_reason(new, after["config_id"])
            not_offered.rows.append((*row[:5], reason))
        elif was in FAILING:
            fixed.rows.append(row)
        elif was == "not-offered":
            offered.rows.append(row)
        else:
            other.rows.append(row)
    return [new_failures, not_offered, fixed, offered, other, only_old, only_new]


def _not_offered_reason(results: Results, config_id: str) -> str:
    for entry in results.mapping:
        if entry["config_id"] == config_id and entry["not_offered"]:
            return entry["not_offered"]
    return ""


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _moved_values(
    before: dict, after: dict, dtype: str, tolerance: float
) -> Iterator[tuple[str, str, str, float]]:
    """(what, old, new, ULPs apart) for each output value that moved beyond ``tolerance``."""
    old_values, new_values = _as_list(before.get("value")), _as_list(after.get("value"))
    if len(old_values) != len(new_values):
        yield "value shape", str(len(old_values)), str(len(new_values)), math.inf
        return
    for index, (old, new) in enumerate(zip(old_values, new_values, strict=True)):
        if not (isinstance(old, (int, float)) and isinstance(new, (int, float))):
            continue
        apart = ulps_apart(float(old), float(new), dtype)
        if apart > tolerance:
            yield f"value[{index}]", _number(old), _number(new), apart


def _bound(tolerance: dict, key: str) -> float:
    """The record's tolerance for ``key``; none recorded (absent or null: no example of the record
    was compared against one) excuses nothing."""
    value = tolerance.get(key)
    return float(value) if isinstance(value, (int, float)) else 0.0


def _moved_errors(
    before: dict, after: dict, tolerance: dict
) -> Iterator[tuple[str, str, str, float]]:
    """(what, old, new, change) for value_ulp / grad_ulp figures that changed beyond tolerance."""
    for key in ("value_ulp", "grad_ulp"):
        old, new = before.get(key), after.get(key)
        if not (isinstance(old, (int, float)) and isinstance(new, (int, float))):
            continue
        if math.isfinite(old) and math.isfinite(new):
            change = abs(new - old)
        else:
            change = 0.0 if (math.isnan(old) and math.isnan(new)) or old == new else math.inf
        if change > _bound(tolerance, key):
            yield key, _number(old), _number(new), change


def moved_section(old: Results, new: Results) -> Section:
    """Corpus outputs that moved beyond tolerance while the verdict stayed match/convention.

    A record without a tolerance counts every change: there is nothing to excuse it.
    """
    section = Section(
        "Values moved beyond tolerance",
        True,
        ("configuration", "where", "example", "what", "old", "new", "moved", "tolerance"),
    )
    for before, after in _paired(old, new):
        if not (before and after and before["verdict"] == after["verdict"] in PASSING):
            continue
        record_tolerance = after["tolerance"] or before["tolerance"] or {}
        old_outputs = {output.get("id"): output for output in before["outputs"]}
        for output in after["outputs"]:
            previous = old_outputs.get(output.get("id"))
            if previous is None:
                continue
            # the example's own bounds where the run recorded them, else the record's
            tolerance = output.get("tolerance") or record_tolerance
            value_tolerance = _bound(tolerance, "value_ulp")
            moved = _moved_values(previous, output, after["dtype"], value_tolerance)
            changes = [
                (what, was, now, f"{_number(apart)} ULP", f"{_number(value_tolerance)} ULP")
                for what, was, now, apart in moved
            ] + [
                (
                    what,
                    was,
                    now,
                    f"{_number(change)} ULP",
                    f"{_number(_bound(tolerance, what))} ULP",
                )
                for what, was, now, change in _moved_errors(previous, output, tolerance)
            ]
            for change in changes:
                section.rows.append(
                    (after["config_id"], _where(after), str(output.get("id")), *change)
                )
    return section


def registry_sections(old: Results, new: Results) -> list[Section]:
    before = {entry["id"]: entry for entry in old.registry}
    after = {entry["id"]: entry for entry in new.registry}
    columns = ("entry", "kind", "loss", "old status", "new status")
    stale = Section("Registry entries gone stale", True, columns)
    added = Section("Registry entries added", False, columns)
    removed = Section("Registry entries removed", False, columns)
    changed = Section("Registry status changes", False, columns)
    for entry_id in sorted(before.keys() | after.keys()):
        was, now = before.get(entry_id), after.get(entry_id)
        entry = now or was
        row = (
            entry_id,
            entry["kind"],
            entry["loss"] or "–",
            was["status"] if was else "absent",
            now["status"] if now else "absent",
        )
        if now and now["status"] == "stale" and (was is None or was["status"] != "stale"):
            stale.rows.append(row)
        elif was is None:
            added.rows.append(row)
        elif now is None:
            removed.rows.append(row)
        elif was["status"] != now["status"]:
            changed.rows.append(row)
    return [stale, added, removed, changed]


def mapping_section(old: Results, new: Results) -> Section:
    """Native calls or compositions that changed for a configuration offered in both runs."""
    section = Section("Native calls changed", False, ("configuration", "old call", "new call"))
    before = {entry["config_id"]: entry for entry in old.mapping}
    for entry in new.mapping:
        previous = before.get(entry["config_id"])
        if not previous or previous["not_offered"] or entry["not_offered"]:
            continue
        was = previous["composition"] or previous["native"]
        now = entry["composition"] or entry["native"]
        if was != now:
            section.rows.append((entry["config_id"], str(was), str(now)))
    return section


def unfinished_section(old: Results, new: Results) -> Section:
    section = Section("New run did not finish", True, ("file", "stopped at"))
    if old.finished and not new.finished:
        section.rows.append((new.path, new.run["stopped_at"] or "before its first test"))
    return section


def notes(old: Results, new: Results) -> list[str]:
    found = []
    if old.run["corpus"] != new.run["corpus"]:
        found.append(
            f"the runs used different corpora ({old.run['corpus']} → {new.run['corpus']}): "
            "values are compared only for example ids present in both"
        )
    if not old.finished:
        found.append(f"the old run did not finish (stopped at {old.run['stopped_at']})")
    return found


def diff_results(old: Results, new: Results) -> Diff:
    check_comparable(old, new)
    failures, not_offered, *verdict_changes = verdict_sections(old, new)
    stale, *registry_changes = registry_sections(old, new)
    sections = [
        unfinished_section(old, new),
        failures,
        not_offered,
        moved_section(old, new),
        stale,
        *verdict_changes,
        *registry_changes,
        mapping_section(old, new),
    ]
    return Diff(old, new, sections, notes(old, new))


# ---------------------------------------------------------------------------------------------
# Renderings


def headline(diff: Diff) -> str:
    old, new = diff.old, diff.new
    return f"lossconf diff: {old.label} ({old.path}) → {new.label} ({new.path})"


def verdict_line(diff: Diff) -> str:
    count = diff.regressions
    if count:
        return f"REGRESSED: {count} regression{'s' if count != 1 else ''}"
    changes = sum(len(section.rows) for section in diff.sections)
    return "no regressions" + (f" ({changes} other changes)" if changes else ", no changes")


def _aligned(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=True)]
    lines = []
    for cells in (columns, *rows):
        text = "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))
        lines.append("  " + text.rstrip())
    return lines


def format_text(diff: Diff) -> str:
    lines = [headline(diff), verdict_line(diff)]
    lines += [f"note: {note}" for note in diff.notes]
    for section in diff.changed:
        marker = "  [regression]" if section.regression else ""
        lines += ["", f"{section.title} ({len(section.rows)}){marker}"]
        lines += _aligned(section.columns, section.rows)
    return "\n".join(lines) + "\n"


def _markdown_cell(text: str) -> str:
    # GitHub renders HTML inside tables; results text must stay text.
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("|", "\\|").replace("\n", " ")


def format_markdown(diff: Diff) -> str:
    status = "❌ " if diff.regressions else "✅ "
    lines = [
        f"### lossconf diff: {_markdown_cell(diff.old.label)} → {_markdown_cell(diff.new.label)}",
        "",
        f"**{status}{verdict_line(diff)}**",
        "",
    ]
    lines += [f"> note: {_markdown_cell(note)}" for note in diff.notes]
    for section in diff.changed:
        marker = " — regression" if section.regression else ""
        lines += ["", f"#### {section.title} ({len(section.rows)}){marker}", ""]
        lines.append("| " + " | ".join(section.columns) + " |")
        lines.append("|" + "---|" * len(section.columns))
        lines += [
            "| " + " | ".join(_markdown_cell(str(c)) for c in row) + " |" for row in section.rows
        ]
    return "\n".join(lines) + "\n"
