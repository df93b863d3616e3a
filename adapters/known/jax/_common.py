"""What the JAX registry's family modules share: citations, the reading of a case as JAX sees it,
and the visibility threshold of a difference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import reference as R
from reference import Case
from reference.contract import K_GRAD, K_VALUE

# --- citations (each one read with the search tool) ---------------------------------------------

OPTAX = "https://github.com/google-deepmind/optax/blob/v0.2.8/optax/losses/{}"
TRIPLET_SOURCE = OPTAX.format("_self_supervised.py#L174-L177")
REGRESSION_SOURCE = OPTAX.format("_regression.py#L75-L106")
OPTAX_ISSUE = "https://github.com/google-deepmind/optax/issues/{}"
OPTAX_PULL = "https://github.com/google-deepmind/optax/pull/{}"
JAX_ISSUE = "https://github.com/jax-ml/jax/issues/{}"
JAX_DOCS = "https://docs.jax.dev/en/latest/_autosummary/{}.html"
SHARP_BITS = "https://jax.readthedocs.io/en/latest/notebooks/Common_Gotchas_in_JAX.html"

INF = np.inf

Predicate = Callable[[Case], bool]


def full_params(case: Case) -> dict[str, Any]:
    return {**R.get(case.loss).defaults(), **case.params}


# Below these many ULPs the tolerance policy always passes, so a smaller difference is no
# divergence: its bound is at least ½ ulp(ref) + K·u·S with S ≥ |ref| (cases/tolerance.py), and
# u·|ref| ≥ ½ ulp(ref) at a normal number, so the bound exceeds K/2 ULPs at the reference. K is
# the tolerance's own constant (K_VALUE for values, K_GRAD for gradients), read from the contract.
VALUE_ULPS, GRAD_ULPS = K_VALUE / 2, K_GRAD / 2


def visible(got: np.ndarray, ref: np.ndarray, dtype: str, ulps: float) -> bool:
    """Some element differs by more than ``ulps`` ULPs of ``dtype`` at the reference value (NaN
    against a number counts; NaN against NaN does not)."""
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    with np.errstate(all="ignore"):
        gap = np.abs(got - ref)
        off = np.where(
            np.isnan(gap), np.isnan(got) != np.isnan(ref), gap > ulps * R.spacing(ref, dtype)
        )
    return bool(np.any(off))


def class_axis(x: np.ndarray) -> int:
    return 1 if x.ndim >= 2 else 0


# JAX sets flush-to-zero / denormals-are-zero on CPU (jax-ml/jax#16200): a subnormal float64,
# float32 or bfloat16 operand counts as 0 there (float16 is computed in float32 and keeps them).
FLUSHING = ("float64", "float32", "bfloat16")


def zero_for_jax(values: np.ndarray, case: Case) -> np.ndarray:
    """Where ``values`` is 0 as JAX's arithmetic sees it: exactly 0, or subnormal on CPU."""
    values = np.asarray(values, dtype=np.float64)
    if case.device == "cpu" and case.dtype in FLUSHING:
        return np.abs(values) < R.FORMATS[case.dtype].tiny
    return values == 0


def uses_log_softmax(p: dict[str, Any]) -> bool:
    """Probability targets or label smoothing: optax.losses.softmax_cross_entropy (log_softmax)."""
    return p["target_kind"] == "probability" or bool(p["label_smoothing"])


def absent_term_at_infinite_logit(case: Case) -> bool:
    """A logit +inf with label 1 or −inf with label 0 (0 as JAX sees it): a sigmoid
    cross-entropy term optax still evaluates though its label weight is 0."""
    a = case.rounded()
    x, y = a["input"], a["target"]
    return bool(np.any(((x == np.inf) & (y == 1)) | ((x == -np.inf) & zero_for_jax(y, case))))


def infinite_logit_absent_term(case: Case) -> bool:
    """A logit +inf with label 1 or −inf with label 0: the term optax still multiplies by the zero
    label weight is log σ(∓inf) = −inf."""
    return absent_term_at_infinite_logit(case)


# The alternative native form of cross_entropy's probability-target configurations (issue 12):
# entries about one of the two forms say which (``apis``), the other's main call is MAIN_API.
SAFE_SOFTMAX_XENT = "optax.losses.safe_softmax_cross_entropy"
