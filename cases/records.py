"""One results-file record per loss × configuration × dtype × device × mode, built as examples run.

:class:`RecordBuilder` accumulates every example's comparison and judgement and produces the
record the results file holds (field names, the ULP buckets, the failing verdicts and the NaN/inf
encoding are the results file's, defined once in ``reports/``; a record is plain data only). The
*worst* example is the one a reader should look at first: the most severe final verdict (crash >
mismatch > error-mismatch > convention > match), among those an unexpected one before a known one,
then the largest error (value or gradient, in ULPs). It is stored inline when small, else by
corpus id.

Every example also has its input regime (:func:`reference.regimes.regime_of`), and the record
keeps, per regime, the verdict counts, the examples no registry entry explains (by signature,
``"<part>|<kind>"``), the entries that explained the others, and that regime's worst example
with its reproducer. The record's headline is the verdict over its ``ordinary`` examples; what
no entry explains outside them is *to triage* (``triage``), and ``failing`` says whether the
record fails a non-strict run: an unexplained non-match on ordinary inputs, or an unexplained
crash in any regime.
"""

from __future__ import annotations

import math
import random
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from reference import Case
from reference.contract import Native, NotOffered
from reference.regimes import REGIMES, regime_of
from reports.schema import ULP_BUCKETS, encode, ulp_bucket
from reports.verdicts import FAILING

from .compare import Comparison
from .judge import Judgement

# Overall verdict precedence, most severe first.
PRECEDENCE = ("crash", "mismatch", "error-mismatch", "convention", "match")

INLINE_NUMBERS = 64  # an example with at most this many numbers is stored inline
SHOWN_NUMBERS = 16  # expected / got / outputs show this many numbers
MAX_SAMPLES = 64
MAX_OUTPUTS = 200
MAX_ERRORS = 5


def _encoded(figures: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if figures is None else {k: encode(v) for k, v in figures.items()}


def first_numbers(values: np.ndarray | None, limit: int = SHOWN_NUMBERS) -> Any:
    """A scalar as a number, an array as its first ``limit`` numbers (flattened); None stays."""
    if values is None:
        return None
    values = np.asarray(values)
    if values.ndim == 0:
        return encode(float(values))
    return encode(values.ravel()[:limit].astype(np.float64))


def _example(case: Case) -> dict[str, Any]:
    """The worst example's inputs: inline when small, else its corpus id, else a summary."""
    arrays = dict(case.rounded())
    cotangent = case.rounded_cotangent()
    if cotangent is not None:
        arrays["cotangent"] = cotangent
    total = sum(np.size(v) for v in arrays.values())
    if total <= INLINE_NUMBERS:
        return {name: encode(np.asarray(v)) for name, v in arrays.items()}
    if "corpus_id" in case.meta:
        return {"corpus_id": case.meta["corpus_id"]}
    summary = {}
    for name, v in arrays.items():
        v = np.asarray(v, dtype=np.float64)
        finite = v[np.isfinite(v)]
        summary[name] = {
            "min": encode(float(finite.min())) if finite.size else None,
            "max": encode(float(finite.max())) if finite.size else None,
            "nonfinite": int(v.size - finite.size),
        }
    return {"shapes": {n: list(np.shape(v)) for n, v in arrays.items()}, "summary": summary}


def _severity(verdict: str, unexpected: bool, comparison: Comparison) -> tuple:
    ulps = [u for u in (comparison.value_ulp, comparison.grad_ulp) if u is not None]
    error = max(ulps) if ulps else -1.0
    if math.isnan(error):
        error = math.inf
    return (len(PRECEDENCE) - PRECEDENCE.index(verdict), unexpected, error)


def fails_non_strict(regime: str, verdict: str) -> bool:
    """Whether an unexplained example fails a non-strict run: on ordinary inputs, or a crash."""
    return regime == "ordinary" or verdict == "crash"


class _Regime:
    """One regime's share of a record."""

    def __init__(self):
        self.verdicts: Counter[str] = Counter()
        self.unexpected = 0
        self.triage = 0
        self.failing = 0
        self.explained_by: Counter[str] = Counter()
        self.signatures: Counter[str] = Counter()
        self.worst: tuple | None = None  # (severity, case, comparison, judgement)
        self.reproducer: str | None = None


def native_fields(native: Native | NotOffered) -> dict[str, Any]:
    if isinstance(native, NotOffered):
        return {
            "native": None,
            "composition": None,
            "conversions": [],
            "not_offered": native.reason,
        }
    return {
        "native": native.call,
        "composition": native.composition,
        "conversions": list(native.conversions),
        "not_offered": None,
    }


class RecordBuilder:
    """Accumulates one record's examples; :meth:`to_dict` returns the record.

    ``native`` is the adapter's mapping for the configuration: a :class:`Native` or a
    :class:`NotOffered`.
    """

    def __init__(
        self,
        loss: str,
        family: str,
        config: Mapping[str, Any],
        config_id: str,
        dtype: str,
        device: str,
        mode: str,
        native: Native | NotOffered,
    ):
        self.loss, self.family = loss, family
        self.config, self.config_id = dict(config), config_id
        self.dtype, self.device, self.mode = dtype, device, mode
        self.native = native
        self.reproducer: str | None = None
        self.duration_s: float | None = None  # None: measured from creation to to_dict()
        # invalid-value cases left out: the device's kernels assert (Adapter.kernel_asserts)
        self.not_run = 0
        self._started = time.perf_counter()
        self._verdicts: Counter[str] = Counter()
        self._worst: tuple | None = None  # (severity, case, comparison, judgement)
        self._samples: list[list[float]] = []
        self._seen_for_samples = 0
        self._rng = random.Random(zlib.crc32(f"{config_id}|{dtype}|{device}|{mode}".encode()))
        self._hist: Counter[str] = Counter()
        self._outputs: list[dict[str, Any]] = []
        self._crash_errors: list[dict[str, str]] = []
        self._other_errors: list[dict[str, str]] = []
        self._error_value: Any = None
        self._missing_grads: dict[str, str] = {}
        self._unexpected = False
        self._regimes: dict[str, _Regime] = {}

    # --- accumulating -----------------------------------------------------------------------

    def add(self, case: Case, comparison: Comparison, judgement: Judgement) -> None:
        verdict = judgement.verdict
        self._verdicts[verdict] += 1
        self._unexpected |= bool(judgement.unexpected)
        severity = _severity(verdict, bool(judgement.unexpected), comparison)
        if self._worst is None or severity > self._worst[0]:
            self._worst = (severity, case, comparison, judgement)
        regime = regime_of(case)
        share = self._regimes.setdefault(regime, _Regime())
        share.verdicts[verdict] += 1
        if judgement.unexpected:
            share.unexpected += 1
            share.signatures[judgement.signature or "unknown"] += 1
            if fails_non_strict(regime, verdict):
                share.failing += 1
            else:
                share.triage += 1
        elif judgement.divergence is not None and verdict != "match":
            share.explained_by[judgement.divergence["id"]] += 1
        if share.worst is None or severity > share.worst[0]:
            share.worst = (severity, case, comparison, judgement)
        if comparison.value_ulp is not None:
            self._hist[ulp_bucket(comparison.value_ulp)] += 1
            if math.isfinite(comparison.value_ulp):
                self._sample([comparison.n_reduced, comparison.value_ulp])
        if "corpus_id" in case.meta and len(self._outputs) < MAX_OUTPUTS:
            self._outputs.append(
                {
                    "id": case.meta["corpus_id"],
                    "regime": regime,
                    "value": first_numbers(comparison.got_value),
                    "expected": first_numbers(comparison.expected_value),
                    "value_ulp": encode(comparison.value_ulp),
                    "grad_ulp": encode(comparison.grad_ulp),
                    # this example's own bounds: the diff of two runs excuses moves within them
                    "tolerance": {
                        "value_ulp": encode(comparison.bound_value_ulp),
                        "grad_ulp": encode(comparison.bound_grad_ulp),
                    },
                    # where a registry entry's model predicted the output: the errors against
                    # that prediction and their bounds (the diff's measure where the reference
                    # cannot be compared, e.g. a per-sample result of another shape)
                    "prediction": _encoded(judgement.prediction),
                }
            )
        if comparison.error is not None:
            self._note_error(case, comparison, verdict)
        if verdict == "error-mismatch" and self._error_value is None:
            self._error_value = first_numbers(comparison.got_value)
        for name, reason in comparison.missing_grads.items():
            self._missing_grads.setdefault(name, reason)

    def _sample(self, pair: list[float]) -> None:
        """Reservoir sampling: every example has the same chance to be among the samples."""
        self._seen_for_samples += 1
        if len(self._samples) < MAX_SAMPLES:
            self._samples.append(pair)
            return
        slot = self._rng.randrange(self._seen_for_samples)
        if slot < MAX_SAMPLES:
            self._samples[slot] = pair

    def _note_error(self, case: Case, comparison: Comparison, verdict: str) -> None:
        entry = {
            "type": comparison.error.type,
            "message": comparison.error.message,
            "label": case.label,
        }
        bucket = self._crash_errors if verdict == "crash" else self._other_errors
        if len(bucket) < MAX_ERRORS:
            bucket.append(entry)

    def set_reproducer(self, text: str) -> None:
        self.reproducer = text

    def set_regime_reproducer(self, regime: str, text: str) -> None:
        self._regimes[regime].reproducer = text

    @property
    def worst(self) -> tuple[Case, Comparison, Judgement] | None:
        """(case, comparison, judgement) of the worst example so far, for the reproducer."""
        return None if self._worst is None else self._worst[1:]

    def regime_worst(self) -> dict[str, tuple[Case, Comparison, Judgement]]:
        """Per regime seen, (case, comparison, judgement) of its worst example."""
        return {name: share.worst[1:] for name, share in self._regimes.items()}

    def triage_by_regime(self) -> dict[str, int]:
        """Per regime, the unexplained non-matching examples a non-strict run does not fail on."""
        return {name: share.triage for name, share in self._regimes.items()}

    @property
    def triage(self) -> int:
        """Unexplained non-matching examples outside ordinary inputs, crashes excepted."""
        return sum(share.triage for share in self._regimes.values())

    @property
    def failing(self) -> bool:
        """An unexplained non-match on ordinary inputs, or an unexplained crash anywhere."""
        return any(share.failing for share in self._regimes.values())

    # --- the record -------------------------------------------------------------------------

    @property
    def verdict(self) -> str:
        if isinstance(self.native, NotOffered):
            return "not-offered"
        for verdict in PRECEDENCE:
            if self._verdicts.get(verdict):
                return verdict
        return "match"

    def _worst_fields(self, worst: tuple | None = None) -> dict[str, Any] | None:
        worst = self._worst if worst is None else worst
        if worst is None:
            return None
        _, case, cmp, judgement = worst
        return {
            "value_ulp": encode(cmp.value_ulp),
            "value_rel": encode(cmp.value_rel),
            "grad_ulp": encode(cmp.grad_ulp),
            "grad_rel": encode(cmp.grad_rel),
            "reduced_elements": cmp.n_reduced,
            "label": case.label,
            "example": _example(case),
            "expected": first_numbers(cmp.expected_shown),
            "got": first_numbers(cmp.got_shown),
            "part": cmp.part,
            "detail": cmp.detail,
            # the error against a predicting registry entry's model (issue 15), None without one
            "prediction": encode(judgement.prediction),
        }

    def _regime_fields(self) -> dict[str, Any]:
        out = {}
        for name in REGIMES:
            share = self._regimes.get(name)
            if share is None:
                continue
            judgement = share.worst[3]
            divergence = judgement.divergence if judgement.verdict != "match" else None
            out[name] = {
                "examples": sum(share.verdicts.values()),
                "verdicts": dict(share.verdicts),
                "unexpected": share.unexpected,
                "explained_by": dict(share.explained_by),
                "signatures": dict(share.signatures),
                "worst": {
                    **self._worst_fields(share.worst),
                    "verdict": judgement.verdict,
                    "unexpected": bool(judgement.unexpected),
                    "divergence_id": None if divergence is None else divergence["id"],
                    "signature": judgement.signature,
                },
                "reproducer": share.reproducer,
            }
        return out

    def _headline(self) -> str | None:
        if isinstance(self.native, NotOffered):
            return "not-offered"
        share = self._regimes.get("ordinary")
        if share is None:
            return None
        return next((v for v in PRECEDENCE if share.verdicts.get(v)), "match")

    def to_dict(self) -> dict[str, Any]:
        worst = self._worst
        judgement = worst[3] if worst else None
        comparison = worst[2] if worst else None
        verdict = self.verdict
        divergence = None
        if judgement is not None and (judgement.known or judgement.verdict == "convention"):
            divergence = judgement.divergence
        duration = self.duration_s
        if duration is None:
            duration = time.perf_counter() - self._started
        return {
            "loss": self.loss,
            "family": self.family,
            "config_id": self.config_id,
            "params": dict(self.config),
            "dtype": self.dtype,
            "device": self.device,
            "mode": self.mode,
            **native_fields(self.native),
            "verdict": verdict,
            "examples": sum(self._verdicts.values()),
            "verdicts": dict(self._verdicts),
            "worst": self._worst_fields(),
            "tolerance": None
            if comparison is None
            else {
                "value_ulp": encode(comparison.bound_value_ulp),
                "grad_ulp": encode(comparison.bound_grad_ulp),
            },
            "reproducer": self.reproducer,
            "divergence": divergence,
            "known": verdict in (*FAILING, "convention") and not self._unexpected,
            "unexpected": self._unexpected,
            "errors": (self._crash_errors + self._other_errors)[:MAX_ERRORS],
            "error_value": self._error_value,
            "missing_grads": dict(self._missing_grads),
            "samples": [list(pair) for pair in self._samples],
            "ulp_hist": {name: self._hist.get(name, 0) for name in ULP_BUCKETS},
            "outputs": list(self._outputs),
            "duration_s": round(duration, 6),
            "regime_headline": self._headline(),
            "regimes": self._regime_fields(),
            "triage": self.triage,
            "failing": self.failing,
            "not_run": self.not_run,
            "api": None,
        }

    @classmethod
    def not_offered(
        cls,
        loss: str,
        family: str,
        config: Mapping[str, Any],
        config_id: str,
        dtype: str,
        device: str,
        mode: str,
        native: Native | NotOffered,
    ) -> dict[str, Any]:
        """The record of a configuration the framework does not offer (``native`` a NotOffered)."""
        record = cls(loss, family, config, config_id, dtype, device, mode, native)
        record.duration_s = 0.0
        return record.to_dict()
