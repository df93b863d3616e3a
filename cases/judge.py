"""Applying a framework's registry of known divergences to raw comparisons.

An entry (a :class:`reference.contract.Divergence`) *applies* to an example when
``entry.applies(case, version)`` is true; it *explains* a failed part of the comparison when that
part is in its ``affects``: "value" covers "value" and "shape", "grad" covers every "grad:<name>",
"error" covers the "error" part of an error-mismatch or a crash, "dtype" the result's dtype; an
entry with ``kinds`` explains only failed parts of those kinds of difference (a generic rule about
overflow explains a NaN or an infinity, never a finite number beyond tolerance).

An entry with a *model* (``Divergence.model``: what the framework returns under the documented
change, computed from the reference's pieces) explains a failed part only where the framework
agrees with that prediction in the part, under the same tolerance policy the comparison with the
reference uses (:func:`cases.compare.compare` against the prediction, bounded by the changed
definition's own term scales). So ``cosine_embedding_loss/epsilon`` excuses torch's 1e-12 added
to the squared norms, and not a value 2e-6 off it. Where it disagrees, the next applicable entry
is asked; if none explains the part, the example is unexpected. An entry without a model (errors,
behaviour no formula predicts) explains as before: wherever it applies.

A non-matching example is explained when every part that failed is explained by some applicable
entry. Then a ``convention`` entry turns the verdict into ``convention``; a ``known-bug`` entry
keeps the verdict (mismatch, error-mismatch, crash) and marks it known. What no entry explains is
*unexpected*: the conformance test fails on it.

The judge also counts, per entry, the examples it applied to and those among them whose
divergence it explained. An entry that applied to examples that all matched the reference no
longer reproduces: it is *stale*, and the run fails until the registry follows the framework.
An entry that applied to nothing is *unexercised* (a warning: the run did not test it).

Speed: every example asks every entry of its loss (a few dozen, for torch). ``applies`` is
``matches_config`` and then ``matches_inputs``, and the judge calls exactly those two, computing
the case's configuration once per example instead of once per entry and remembering which entries
match a configuration (every example of an item shares it). The validity guard (no value or
gradient entry applies to an input the reference rejects) lives in ``matches_inputs``, so it holds
here as everywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

import reference as R
from reference import Case
from reference.contract import Divergence, Outcome

from . import tolerance
from .compare import Comparison, Expected, compare, expected

CONVENTION = "convention"
KNOWN_BUG = "known-bug"


@dataclass(frozen=True)
class Judgement:
    """The final verdict of one example.

    ``verdict``: match | mismatch | convention | error-mismatch | crash. ``divergence``: the
    ``as_record()`` of the entry behind a convention or known bug (None otherwise). ``known``: a
    registry entry expects this non-match. ``unexpected``: a mismatch, error-mismatch or crash no
    entry explains — the conformance test must fail for it. ``prediction``: the framework's error
    against a predicting entry's model, ``{"value_ulp": …, "grad_ulp": …}`` (each None where the
    entry does not affect that part), for the entry that explained the example or, where none
    did, the first predicting entry that applied to a failed part; None when no model applied.
    """

    verdict: str
    divergence: dict[str, Any] | None = None
    known: bool = False
    unexpected: bool = False
    # "<part>|<kind>" of the first failed part no entry explains (cases.compare), when unexpected
    signature: str | None = None
    # the outcome's error against the explaining (or first asked) entry's prediction (issue 15)
    prediction: dict[str, Any] | None = None


def covers(
    affects: Iterable[str], part: str, kind: str | None = None, kinds: Iterable[str] = ()
) -> bool:
    """Whether an entry affecting ``affects`` (and, if ``kinds`` is not empty, only differences
    of those kinds) explains a failed comparison ``part`` whose difference is of ``kind``."""
    kinds = tuple(kinds)
    if kinds and kind not in kinds:
        return False
    if part in ("value", "shape"):
        return "value" in affects
    if part.startswith("grad:"):
        return "grad" in affects or part in affects
    return part in affects


def explains(entry: Divergence, comparison: Comparison, part: str) -> bool:
    """Whether registry ``entry`` explains the failed ``part`` of ``comparison``."""
    return covers(entry.affects, part, comparison.kind(part), entry.kinds)


class Judge:
    """Applies one framework's divergence registry and keeps per-entry counts for the run."""

    def __init__(self, divergences: Iterable[Divergence], framework_version: str):
        self.entries = list(divergences)
        for entry in self.entries:
            if not isinstance(entry, Divergence):
                raise TypeError(
                    f"a registry holds Divergence entries (Accepts rows via as_divergence()), "
                    f"not {type(entry).__name__}"
                )
        self.version = framework_version
        self.applied = [0] * len(self.entries)
        # entry id -> whether the entry's own example still shows its divergence (filled by the
        # run for the entries that applied without diverging; see registry_status)
        self.example_reproduces: dict[str, bool] = {}
        self.diverged = [0] * len(self.entries)
        # Entries by loss, so that an example only asks the entries that could apply to it.
        wildcard = [i for i, e in enumerate(self.entries) if e.loss == "*"]
        by_loss: dict[str, list[int]] = defaultdict(list)
        for i, entry in enumerate(self.entries):
            if entry.loss != "*":
                by_loss[entry.loss].append(i)
        self._by_loss = {loss: sorted(wildcard + found) for loss, found in by_loss.items()}
        self._wildcard = wildcard
        # (loss, configuration, dtype, device, mode) -> the entries whose matches_config holds.
        self._config_memo: dict[tuple, list[int]] = {}

    def _candidates(self, case: Case, api: str | None = None) -> list[int]:
        """The entries whose configuration part (``matches_config``) holds for ``case`` as the
        native form ``api`` (None: the configuration's main call) computes it."""
        candidates = self._by_loss.get(case.loss, self._wildcard)
        if not candidates:
            return candidates
        config = R.config_of(case)
        try:
            key = (
                case.loss,
                tuple(sorted(config.items())),
                case.dtype,
                case.device,
                case.mode,
                api,
            )
            hash(key)
        except TypeError:  # an unhashable parameter value: decide without remembering
            key = None
        found = self._config_memo.get(key) if key is not None else None
        if found is None:
            found = [
                i
                for i in candidates
                if self.entries[i].matches_config(
                    case.loss, config, case.dtype, case.device, case.mode, self.version, api
                )
            ]
            if key is not None:
                self._config_memo[key] = found
        return found

    def applicable(self, case: Case, api: str | None = None) -> list[int]:
        """Indices of the entries that apply to ``case`` (as ``api`` computes it), in registry
        order."""
        return [i for i in self._candidates(case, api) if self.entries[i].matches_inputs(case)]

    def judge(
        self,
        case: Case,
        comparison: Comparison,
        outcome: Outcome | None = None,
        reference: Expected | None = None,
        api: str | None = None,
    ) -> Judgement:
        """The verdict of one example. ``outcome`` (what the framework returned) is needed to
        hold it against an entry's prediction; ``reference`` (the reference's
        :func:`~cases.compare.expected`, computed here if not given) supplies the tolerance's
        fan-in and, for predictions that keep the reference's terms, its scales."""
        found = self.applicable(case, api)
        for i in found:
            self.applied[i] += 1
        if comparison.verdict == "match":
            return Judgement("match")
        failed = comparison.failed_parts
        against: dict[int, Comparison] = {}  # entry -> the outcome against its prediction

        def agrees(i: int, part: str) -> bool:
            entry = self.entries[i]
            if entry.model is None:
                return True
            if i not in against:
                against[i] = self._against_prediction(entry, case, outcome, reference)
            # a value of another shape than the reference's cannot be compared with it, only
            # with the prediction: agreeing on the shape means agreeing on the value too
            held = (part, "value") if part == "shape" else (part,)
            return not set(held) & set(against[i].failed_parts)

        explaining: dict[str, int] = {}
        for part in failed:
            for i in found:
                if explains(self.entries[i], comparison, part) and agrees(i, part):
                    explaining[part] = i
                    break
        for i in found:
            if any(explains(self.entries[i], comparison, part) for part in failed):
                self.diverged[i] += 1
        if len(explaining) < len(failed):
            first = next(part for part in failed if part not in explaining)
            shown = next(iter(against), None)
            return Judgement(
                comparison.verdict,
                None,
                known=False,
                unexpected=True,
                signature=comparison.signature(first),
                prediction=self._figures(shown, against),
            )
        chosen = [explaining[part] for part in failed]
        bug = next((i for i in chosen if self.entries[i].kind == KNOWN_BUG), None)
        reported = chosen[0] if bug is None else bug
        shown = reported if reported in against else next((i for i in chosen if i in against), None)
        return Judgement(
            comparison.verdict if bug is not None else CONVENTION,
            self.entries[reported].as_record(),
            known=True,
            prediction=self._figures(shown, against),
        )

    def _against_prediction(
        self, entry: Divergence, case: Case, outcome: Outcome | None, reference: Expected | None
    ) -> Comparison:
        """The framework's outcome compared with the entry's prediction, as :func:`compare`
        compares it with the reference: the same bound, with the term scales of the changed
        definition (the reference's where the prediction keeps them)."""
        if outcome is None:
            raise TypeError(
                f"{entry.id} predicts the framework's output: Judge.judge needs the outcome "
                "to hold against it"
            )
        if reference is None:
            reference = expected(case)
        predicted = entry.predict(case)
        scales = reference.scales
        if predicted.spec is not None or predicted.params is not None:
            params = {**case.params, **(predicted.params or {})}
            # a prediction without gradients is of a result whose shape differs from the
            # reference's (a per-sample loss for reduction none): no cotangent applies to it
            cotangent = case.rounded_cotangent() if predicted.grads else None
            scales = tolerance.scales(
                case.loss, case.rounded(), params, cotangent, spec=predicted.spec
            )
        grads = {name: np.asarray(g, dtype=np.float64) for name, g in predicted.grads.items()}
        target = Expected(
            np.asarray(predicted.value, dtype=np.float64), grads, None, reference.n_reduced, scales
        )
        return compare(case, target, outcome)

    def _figures(self, i: int | None, against: dict[int, Comparison]) -> dict[str, Any] | None:
        if i is None:
            return None
        affects, result = self.entries[i].affects, against[i]
        value, grad = "value" in affects, covers(affects, "grad:")
        return {
            "value_ulp": result.value_ulp if value else None,
            "grad_ulp": result.grad_ulp if grad else None,
            # the bounds of that comparison: an upgrade diff judges a move against them
            "bound_value_ulp": result.bound_value_ulp if value else None,
            "bound_grad_ulp": result.bound_grad_ulp if grad else None,
        }

    def registry_status(self) -> list[dict[str, Any]]:
        """Every entry's record with ``status`` (applied | stale | unexercised) and its counts."""
        out = []
        for entry, applied, diverged in zip(self.entries, self.applied, self.diverged, strict=True):
            if diverged:
                status = "applied"
            elif applied:
                status = "imprecise" if self.example_reproduces.get(entry.id) else "stale"
            else:
                status = "unexercised"
            out.append(
                {
                    **entry.as_record(),
                    "status": status,
                    "examples": applied,
                    "applied": applied,
                    "diverged": diverged,
                }
            )
        return out

    def candidates_for_staleness(self) -> list[Any]:
        """Entries that applied to examples of this run none of which diverged: stale, unless
        their own example still shows the divergence (then their predicate is broader than the
        behaviour on this run's inputs: *imprecise*, reported, not a failure)."""
        return [
            entry
            for entry, applied, diverged in zip(
                self.entries, self.applied, self.diverged, strict=True
            )
            if applied and not diverged
        ]

    def stale(self) -> list[dict[str, Any]]:
        """The entries that applied to examples none of which diverged: they no longer reproduce."""
        return [entry for entry in self.registry_status() if entry["status"] == "stale"]
