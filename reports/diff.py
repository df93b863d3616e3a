"""What changed between two runs of one framework (an upgrade), and whether it regressed.

The diff is a list of :class:`Section` tables, each marked as a regression or not; the text,
Markdown and HTML renderings only lay those out. Records are matched by
(loss, config_id, dtype, device, mode), corpus outputs by example id.

Regressions (exit status 1): a record that now fails with a verdict it did not have (new
mismatch, error-mismatch or crash), a record that is no longer offered, a corpus example whose
error against the reference grew beyond its tolerance (it crossed the bound, grew by more than
the bound where a registry entry already explains it being beyond, or grew where no bound was
recorded), a registry entry that went stale, and a new run that did not finish where the old
one did.

Where both runs carry per-regime verdicts (results format 2), a record's verdicts are compared
regime by regime instead of as one: a regime regresses when an unexplained difference appears
in it (a new signature, or unexplained examples where there were none), or when its verdict
turns failing where it matched; a regime a run did not reach before whose new failures a
registry entry explains is not a regression. A regime that got better is an improvement
(fixed), one whose counts changed otherwise is movement.

Not regressions: a corpus value that moved while its error stayed within tolerance, or that
was not compared against the reference at all (movement: 1-ULP jitter between releases), one
that moved closer to the reference (improvement), and a configuration the old run did not offer
whose new failure the registry marks known (newly offered, known divergence). An unexpected
failure of a newly offered configuration stays a regression. Each value row shows the old and
the new error against the reference, and so which release is closer. Where the run recorded the
reference's own first numbers (``outputs[].expected``, format 2), an error the comparison left
undecided (not recorded, or NaN/inf on both sides because of an element outside the recorded
numbers) is measured on the recorded numbers themselves, so a move is a regression or an
improvement, not "unknown"; "unknown" remains only where neither is available. Where a
registry entry's model explained the example on both sides (``outputs[].prediction``), the
errors are those against its prediction, under that comparison's bound ("vs prediction"): the
documented change (a clip, a per-sample result shape) is not the release's error. Corpus values
are compared where the example's verdict (its regime's, in format 2) is the same on both sides,
failing ones included: a known bug whose values move is a change too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .schema import REGIMES, Results, ResultsError, record_key, run_label, with_regime_defaults
from .ulp import ulps_apart
from .verdicts import FAILING

PASSING = frozenset({"match", "convention"})
SEVERITY = ("crash", "mismatch", "error-mismatch", "convention", "match")  # most severe first


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
    api = f"{record['api']} " if record.get("api") else ""
    return f"{api}{record['device']} {record['dtype']} {record['mode']}"


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


def _key(record: dict[str, Any]) -> tuple:
    """A record's identity: its key, and its native API where a run offers several."""
    return (*record_key(record), record.get("api") or "")


def _paired(old: Results, new: Results) -> Iterator[tuple[dict | None, dict | None]]:
    """Every record key of either run, with the record of each side (None where absent)."""
    before = {_key(with_regime_defaults(r)): r for r in old.records}
    after = {_key(with_regime_defaults(r)): r for r in new.records}
    for key in sorted(before.keys() | after.keys()):
        yield before.get(key), after.get(key)


def verdict_sections(old: Results, new: Results) -> list[Section]:
    """Classify each verdict change into exactly one section (the first that applies)."""
    columns = ("configuration", "where", "old", "new", "worst value ULP", "note")
    new_failures = Section("New failures", True, columns)
    not_offered = Section("Newly not offered", True, columns)
    fixed = Section("Fixed", False, columns)
    offered = Section("Newly offered", False, columns)
    offered_known = Section("Newly offered, known divergence", False, columns)
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
        if was == now or (before and before["regimes"] and after["regimes"]):
            continue  # unchanged, or compared regime by regime (regime_sections)
        note = "known" if after["known"] else ("unexpected" if after["unexpected"] else "")
        row = (after["config_id"], _where(after), was, now, _worst(after, "value_ulp"), note)
        if now in FAILING and was in ("absent", "not-offered") and after["known"]:
            offered_known.rows.append(row)
        elif now in FAILING:
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
    return [new_failures, not_offered, fixed, offered, offered_known, other, only_old, only_new]


def _regime_verdict(part: dict[str, Any] | None) -> str:
    """A regime's verdict: its most severe example's ("absent" where it had none)."""
    verdicts = (part or {}).get("verdicts") or {}
    return next((v for v in SEVERITY if verdicts.get(v)), "absent")


def _signatures(part: dict[str, Any] | None) -> set[str]:
    return {s for s, n in ((part or {}).get("signatures") or {}).items() if n}


def _describe_regime(part: dict[str, Any] | None) -> str:
    """ "mismatch (1 of 3; unexplained value|inf-where-finite)", "match (40)", "absent"."""
    if not part:
        return "absent"
    verdict = _regime_verdict(part)
    examples = part.get("examples") or sum((part.get("verdicts") or {}).values())
    differing = sum(n for v, n in (part.get("verdicts") or {}).items() if v != "match")
    text = f"{verdict} ({differing} of {examples}" if differing else f"{verdict} ({examples}"
    signatures = sorted(_signatures(part))
    if signatures:
        text += f"; unexplained {', '.join(signatures)}"
    explained = sorted((part.get("explained_by") or {}).keys())
    if explained:
        text += f"; explained by {', '.join(explained)}"
    return text + ")"


def _counts(part: dict[str, Any] | None) -> tuple:
    """What a regime's comparison counts: its verdicts and what explained or did not."""
    part = part or {}
    return tuple(
        sorted((part.get(key) or {}).items()) for key in ("verdicts", "explained_by", "signatures")
    )


def regime_change(before: dict | None, after: dict | None) -> tuple[str, str] | None:
    """How one regime of one record changed: (regression | improvement | movement, note), or
    None where nothing did."""
    if _counts(before) == _counts(after):
        return None  # the same examples judged the same way (worst example aside)
    was, now = _regime_verdict(before), _regime_verdict(after)
    new_signatures = _signatures(after) - _signatures(before)
    unexplained_before = int((before or {}).get("unexpected") or 0)
    unexplained_after = int((after or {}).get("unexpected") or 0)
    if new_signatures:
        return "regression", f"new unexplained {', '.join(sorted(new_signatures))}"
    if unexplained_after and not unexplained_before:
        return "regression", "unexplained examples where there were none"
    if now in FAILING and was != now:
        if was == "absent":
            # a regime this configuration did not reach before, whose failures are explained
            return "movement", "newly exercised, known divergence"
        if SEVERITY.index(now) < SEVERITY.index(was) or was in PASSING:
            return "regression", f"{was} → {now}"
    if was in FAILING and now not in FAILING:
        return "improvement", f"{was} → {now}"
    if unexplained_before and not unexplained_after:
        return "improvement", "no unexplained examples left"
    if now in FAILING and was in FAILING and SEVERITY.index(now) > SEVERITY.index(was):
        return "improvement", f"{was} → {now}"
    return "movement", "" if was == now else f"{was} → {now}"


def regime_sections(old: Results, new: Results) -> list[Section]:
    """Records both runs judged per regime (format 2), compared regime by regime."""
    columns = ("configuration", "where", "regime", "old", "new", "note")
    sections = {
        "regression": Section("New failures per regime", True, columns),
        "improvement": Section("Fixed per regime", False, columns),
        "movement": Section("Regime verdicts moved", False, columns),
    }
    for before, after in _paired(old, new):
        if not (before and after and before["regimes"] and after["regimes"]):
            continue
        names = [
            *REGIMES,
            *sorted((before["regimes"].keys() | after["regimes"].keys()) - set(REGIMES)),
        ]
        for name in names:
            was, now = before["regimes"].get(name), after["regimes"].get(name)
            change = regime_change(was, now)
            if change is None:
                continue
            kind, note = change
            sections[kind].rows.append(
                (
                    after["config_id"],
                    _where(after),
                    name,
                    _describe_regime(was),
                    _describe_regime(now),
                    note,
                )
            )
    return list(sections.values())


def _not_offered_reason(results: Results, config_id: str) -> str:
    for entry in results.mapping:
        if entry["config_id"] == config_id and entry["not_offered"]:
            return entry["not_offered"]
    return ""


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _bound(tolerance: dict, key: str) -> float | None:
    """The tolerance for ``key`` (the example's own bounds where the run recorded them, else the
    record's); None where none was recorded (absent or null: no example of the record was
    compared against one), which excuses nothing."""
    value = tolerance.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _error(output: dict, key: str) -> float | None:
    """An output's error against the reference (value_ulp / grad_ulp); nan (no comparable
    number) ranks as the worst error, so a value that turns nan got worse."""
    value = output.get(key)
    if not isinstance(value, (int, float)):
        return None
    return math.inf if math.isnan(value) else float(value)


def _values_moved(before: dict, after: dict, dtype: str) -> float:
    """How far the recorded values moved, in ULPs of ``dtype`` (the largest element's move)."""
    old_values, new_values = _as_list(before.get("value")), _as_list(after.get("value"))
    if len(old_values) != len(new_values):
        return math.inf
    moved = 0.0
    for old, new in zip(old_values, new_values, strict=True):
        if isinstance(old, (int, float)) and isinstance(new, (int, float)):
            moved = max(moved, ulps_apart(float(old), float(new), dtype))
    return moved


@dataclass(frozen=True)
class Change:
    """One figure (value or gradient) of one corpus example that differs between the runs."""

    what: str  # "value" or "grad"
    moved: float | None  # ULPs the recorded values moved; None for the gradient (not recorded)
    old_error: float | None  # ULPs from the reference; None where the run did not record it
    new_error: float | None
    tolerance: float | None
    # what the errors are measured against: the reference, or the prediction of the registry
    # entry that explained the example on both sides
    basis: str = "reference"

    @property
    def kind(self) -> str:
        """regression, improvement or movement (see the module docstring)."""
        if self.old_error is None or self.new_error is None:
            if self.tolerance is None:
                # nothing of this example was compared against the reference (a convention
                # explains it): its move cannot be judged, and its verdict did not change
                return "movement"
            # an error not recorded (an older results file): only the size of the move
            return "regression" if (self.moved or 0.0) > self.tolerance else "movement"
        grown = self.new_error - self.old_error
        if grown > 0:
            if self.tolerance is None:
                return "regression"  # nothing excuses it
            crossed = self.old_error <= self.tolerance < self.new_error
            # an example already beyond its bound (explained by a registry entry) regresses
            # when its error grows by more than the bound, not by 1-ULP jitter on top of it
            return "regression" if crossed or grown > self.tolerance else "movement"
        return "improvement" if grown < 0 else "movement"

    @property
    def closer(self) -> str:
        errors = (self.old_error, self.new_error)
        if None in errors or not any(map(math.isfinite, errors)):
            return "unknown"  # not compared, or a NaN/inf or shape disagreement on both sides
        if self.new_error == self.old_error:
            side = "same"
        else:
            side = "new" if self.new_error < self.old_error else "old"
        return side if self.basis == "reference" else f"{side} (vs prediction)"

    def row(self) -> tuple[str, ...]:
        def ulps(value: float | None) -> str:
            return "–" if value is None else f"{_number(value)} ULP"

        return (
            self.what,
            ulps(self.moved),
            ulps(self.old_error),
            ulps(self.new_error),
            ulps(self.tolerance),
            self.closer,
        )


def _expected_error(output: dict, dtype: str) -> float | None:
    """The recorded value's error against the recorded reference numbers (``expected``), in
    ULPs of ``dtype`` (the largest element's); None where the run recorded no reference
    numbers or they do not line up with the value's."""
    expected, values = output.get("expected"), output.get("value")
    if expected is None or values is None:
        return None
    expected, values = _as_list(expected), _as_list(values)
    if len(expected) != len(values) or not expected:
        return None
    error = 0.0
    for reference, got in zip(expected, values, strict=True):
        if not (isinstance(reference, (int, float)) and isinstance(got, (int, float))):
            return None
        error = max(error, ulps_apart(float(reference), float(got), dtype))
    return error


def _decided(old: float | None, new: float | None) -> bool:
    """The comparison's own errors say which side is closer: both recorded, one finite."""
    return old is not None and new is not None and (math.isfinite(old) or math.isfinite(new))


def _predicted(before: dict, after: dict, key: str) -> tuple[float, float, float | None] | None:
    """Both sides' errors against a registry entry's prediction (``outputs[].prediction``) and
    the new side's bound there, where both runs recorded one for ``key`` (value_ulp/grad_ulp)."""
    old, new = before.get("prediction") or {}, after.get("prediction") or {}
    old_error, new_error = _error(old, key), _error(new, key)
    if old_error is None or new_error is None:
        return None
    return old_error, new_error, _bound(new, f"bound_{key}")


def _changes(before: dict, after: dict, dtype: str, tolerance: dict) -> Iterator[Change]:
    moved = _values_moved(before, after, dtype)
    old_error, new_error = _error(before, "value_ulp"), _error(after, "value_ulp")
    predicted = _predicted(before, after, "value_ulp")
    if predicted is not None and (moved > 0 or predicted[0] != predicted[1]):
        # a model explained the example on both sides: the documented change is part of the
        # error against the reference (a clip, a per-sample shape), so the move is measured
        # against what the entry predicts, under that comparison's bound
        yield Change("value", moved, *predicted, basis="prediction")
    elif moved > 0 or old_error != new_error:
        if not _decided(old_error, new_error):
            old_expected, new_expected = (
                _expected_error(before, dtype),
                _expected_error(after, dtype),
            )
            if old_expected is not None and new_expected is not None:
                old_error, new_error = old_expected, new_expected
        yield Change("value", moved, old_error, new_error, _bound(tolerance, "value_ulp"))
    old_error, new_error = _error(before, "grad_ulp"), _error(after, "grad_ulp")
    predicted = _predicted(before, after, "grad_ulp")
    if predicted is not None:
        if predicted[0] != predicted[1]:
            yield Change("grad", None, *predicted, basis="prediction")
    elif old_error != new_error and not (old_error is None or new_error is None):
        yield Change("grad", None, old_error, new_error, _bound(tolerance, "grad_ulp"))


VALUE_COLUMNS = (
    "configuration",
    "where",
    "example",
    "what",
    "moved",
    "old error",
    "new error",
    "tolerance",
    "closer to reference",
)


def _example_verdict(record: dict[str, Any], output: dict[str, Any]) -> str:
    """The verdict an output's example shares: its regime's (format 2), else its record's."""
    part = record["regimes"].get(output.get("regime") or "")
    return _regime_verdict(part) if part else record["verdict"]


def value_sections(old: Results, new: Results) -> list[Section]:
    """Corpus outputs that changed while their verdict stayed the same, judged by their error
    against the reference on each side: a regression (the error grew beyond tolerance), an
    improvement (the new release is closer to the reference) or movement (anything else: a
    value that moved while its error stayed within tolerance, or did not change)."""
    sections = {
        "regression": Section(
            "Values moved beyond tolerance, away from the reference", True, VALUE_COLUMNS
        ),
        "improvement": Section("Values moved closer to the reference", False, VALUE_COLUMNS),
        "movement": Section("Values moved within tolerance", False, VALUE_COLUMNS),
    }
    for before, after in _paired(old, new):
        if not (before and after) or "not-offered" in (before["verdict"], after["verdict"]):
            continue
        record_tolerance = after["tolerance"] or before["tolerance"] or {}
        old_outputs = {output.get("id"): output for output in before["outputs"]}
        for output in after["outputs"]:
            previous = old_outputs.get(output.get("id"))
            if previous is None:
                continue
            if _example_verdict(before, previous) != _example_verdict(after, output):
                continue  # a verdict change: the verdict sections list it
            tolerance = output.get("tolerance") or record_tolerance
            example = str(output.get("id"))
            if output.get("regime"):
                example += f" ({output['regime']})"
            for change in _changes(previous, output, after["dtype"], tolerance):
                sections[change.kind].rows.append(
                    (after["config_id"], _where(after), example, *change.row())
                )
    return list(sections.values())


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

    def key(entry: dict) -> tuple:
        # a configuration's alternative APIs are mapping rows of their own (format 2)
        return entry["config_id"], entry.get("api")

    before = {key(entry): entry for entry in old.mapping}
    for entry in new.mapping:
        previous = before.get(key(entry))
        if not previous or previous["not_offered"] or entry["not_offered"]:
            continue
        was = previous["composition"] or previous["native"]
        now = entry["composition"] or entry["native"]
        if was != now:
            name = entry["config_id"] + (f" ({entry['api']})" if entry.get("api") else "")
            section.rows.append((name, str(was), str(now)))
    return section


def unfinished_section(old: Results, new: Results) -> Section:
    section = Section("New run did not finish", True, ("file", "stopped at"))
    if old.finished and not new.finished:
        section.rows.append((new.path, new.run["stopped_at"] or "before its first test"))
    return section


def _shape_breaks(results: Results) -> str:
    scope = results.run.get("shape_breaks")
    if not scope:
        return "every dtype"
    return f"{', '.join(scope['dtypes'])} only in {', '.join(scope['modes'])}"


def _dtype_modes(results: Results) -> str:
    if results.run.get("dtype_modes") == "alternate":
        return "every dtype in one mode per configuration, alternating"
    return "every dtype in every mode"


def _asserting(results: Results) -> str:
    scope = results.run.get("kernel_asserts")
    return ", ".join(scope["devices"]) if scope else "none"


# The header fields of a corpus replay's share (cases.run.Run.corpus_share), and what each counts.
CORPUS_SHARES = (
    ("corpus_every", "case of each configuration"),
    ("corpus_configs", "configuration of each loss"),
    ("corpus_pairs", "(dtype, mode) pair of each configuration"),
)


def _corpus_share(results: Results) -> str:
    """``every 8th case of each configuration, …`` for a replay of part of the corpus, "" for a
    whole replay or a run without a corpus."""
    shares = ((int(results.run.get(key) or 1), what) for key, what in CORPUS_SHARES)
    return ", ".join(f"every {_ordinal(k)} {what}" for k, what in shares if k > 1)


def _ordinal(k: int) -> str:
    """2 → "2nd", 16 → "16th", 23 → "23rd", 11 → "11th"."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def notes(old: Results, new: Results) -> list[str]:
    found = []
    if old.run["corpus"] != new.run["corpus"]:
        found.append(
            f"the runs used different corpora ({old.run['corpus']} → {new.run['corpus']}): "
            "values are compared only for example ids present in both"
        )
    if old.run.get("corpus_every", 1) != new.run.get("corpus_every", 1):
        found.append(
            f"the runs replayed different shares of the corpus (every "
            f"{old.run.get('corpus_every', 1)} → every {new.run.get('corpus_every', 1)} cases): "
            "values are compared only for example ids present in both"
        )
    if old.run.get("corpus_configs", 1) != new.run.get("corpus_configs", 1):
        found.append(
            f"the runs replayed different shares of the configurations (every "
            f"{old.run.get('corpus_configs', 1)} → every {new.run.get('corpus_configs', 1)} "
            "per loss): items of only one run are listed as only in the old or the new run"
        )
    if old.run.get("corpus_pairs", 1) != new.run.get("corpus_pairs", 1):
        found.append(
            f"the runs replayed different shares of the dtype and mode pairs (every "
            f"{old.run.get('corpus_pairs', 1)} → every {new.run.get('corpus_pairs', 1)} "
            "per configuration): items of only one run are listed as only in the old or the new run"
        )
    share = _corpus_share(old)
    if share and share == _corpus_share(new):
        found.append(
            f"both runs replayed a share of the corpus ({share}): a change outside it is not seen"
        )
    if old.run.get("shape_breaks") != new.run.get("shape_breaks"):
        found.append(
            "the runs tried the shape-breaking invalid inputs at different dtypes "
            f"({_shape_breaks(old)} → {_shape_breaks(new)}): an invalid-input verdict may change "
            "with that alone"
        )
    if old.run.get("dtype_modes") != new.run.get("dtype_modes"):
        found.append(
            f"the runs covered dtypes and modes differently ({_dtype_modes(old)} → "
            f"{_dtype_modes(new)}): items of only one run are listed as only in the old or the "
            "new run"
        )
    if old.run.get("kernel_asserts") != new.run.get("kernel_asserts"):
        found.append(
            "the runs left the invalid values out on different devices ("
            f"{_asserting(old)} → {_asserting(new)}): an invalid-input verdict may change with "
            "that alone"
        )
    if not old.finished:
        found.append(f"the old run did not finish (stopped at {old.run['stopped_at']})")
    return found


def diff_results(old: Results, new: Results) -> Diff:
    check_comparable(old, new)
    failures, not_offered, *verdict_changes = verdict_sections(old, new)
    regime_failures, regime_fixed, regime_moved = regime_sections(old, new)
    stale, *registry_changes = registry_sections(old, new)
    moved, closer, movement = value_sections(old, new)
    sections = [
        unfinished_section(old, new),
        failures,
        regime_failures,
        not_offered,
        moved,
        stale,
        regime_fixed,
        *verdict_changes,
        closer,
        movement,
        regime_moved,
        *registry_changes,
        mapping_section(old, new),
    ]
    return Diff(old, new, sections, notes(old, new))


# ---------------------------------------------------------------------------------------------
# Renderings


def headline(diff: Diff) -> str:
    old, new = diff.old, diff.new
    return f"lossconf diff: {run_label(old)} ({old.path}) → {run_label(new)} ({new.path})"


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
        f"### lossconf diff: {_markdown_cell(run_label(diff.old))} → "
        f"{_markdown_cell(run_label(diff.new))}",
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
