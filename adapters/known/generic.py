"""Registry entries every framework shares, written once: generic regime rules.

Where a framework evaluates a loss in the input dtype, an intermediate of the definition (a
square, an exp, a sum before the mean, a quotient, a gradient term before its last factor) that
lies beyond the dtype's finite range overflows, and the result is ±inf or NaN although the exact
value or gradient is representable. Each framework's registry used to re-simulate that arithmetic
loss by loss; the ``range`` input regime (:mod:`reference.regimes`) now says it once, from the
reference alone. The entry explains only the non-finite kinds of difference (a NaN or an
infinity where the reference is finite): a finite number beyond tolerance on the same inputs
stays unexplained, and what a framework does there beyond overflow keeps its own entry.
"""

from __future__ import annotations

from reference.contract import Divergence, Example
from reference.regimes import regime_of

# The kinds of difference overflow produces (cases.compare's vocabulary): a NaN or an infinity
# where the reference is finite, or a NaN where the reference itself is infinite (e^4096
# overflows float64 too, and the framework's inf − inf is NaN).
OVERFLOW_KINDS = ("nan-where-finite", "inf-where-finite", "nonfinite-differs")

# mse_loss[mean] in float16 with one error of 300: its square 90000 overflows, the mean 22500 is
# representable.
SQUARE_BEFORE_MEAN = Example(
    {"reduction": "mean"},
    {"input": [300.0, 0.5, 0.25, 0.0], "target": [0.0] * 4},
    dtype="float16",
    loss="mse_loss",
)


def in_range_regime(case) -> bool:
    return regime_of(case) == "range"


def range_overflow(
    framework: str, citation: str, example: Example = SQUARE_BEFORE_MEAN
) -> Divergence:
    """The wildcard entry of ``framework``: a non-finite result on range-regime inputs."""
    return Divergence(
        id="*/range-overflow",
        kind="known-bug",
        loss="*",
        description=(
            f"{framework} evaluates in the input dtype, so where an intermediate of the "
            "definition (a square, an exp, a sum before the mean, a quotient) lies beyond the "
            "dtype's finite range it overflows: the value or a gradient is ±inf or NaN although "
            "the exact result is representable (mse_loss mean, float16, errors 300, ½, ¼, 0: "
            "the square 90000 overflows, inf, reference 22500)"
        ),
        citation=citation,
        inputs=in_range_regime,
        inputs_text="range-regime inputs (reference.regimes: an intermediate of the definition "
        "beyond the dtype's finite range, or a subnormal input); only a NaN or an infinity where "
        "the reference is finite, or a NaN where it is infinite",
        affects=("value", "grad"),
        kinds=OVERFLOW_KINDS,
        example=example,
    )
