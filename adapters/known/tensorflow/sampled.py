"""TensorFlow against the reference: the candidate-sampling losses (tf.nn.sampled_softmax_loss,
tf.nn.nce_loss with sampled_values given; _compute_sampled_logits in
tensorflow/python/ops/nn_impl.py at v2.21.0, the ComputeAccidentalHits kernel in
tensorflow/core/kernels/candidate_sampler_ops.cc)."""

from __future__ import annotations

import numpy as np

from reference import Case, sampled
from reference.contract import Prediction, predict

from ...base import Accepts, Divergence, Example

NN_IMPL = "https://github.com/tensorflow/tensorflow/blob/v2.21.0/tensorflow/python/ops/nn_impl.py"
XLA_GATHER = "https://openxla.org/xla/operation_semantics#gather"
HITS_KERNEL = (
    "https://github.com/tensorflow/tensorflow/blob/v2.21.0/tensorflow/core/kernels/"
    "candidate_sampler_ops.cc (ComputeAccidentalHitsOp: sampled_candidate_to_pos)"
)

ARRAYS = {
    "inputs": [[1.0, -0.5], [0.25, 2.0]],
    "weights": [[0.5, 1.0], [-1.0, 0.5], [2.0, 0.0], [0.0, -1.5]],
    "biases": [0.0, 0.5, -0.25, 1.0],
    "labels": [[1], [3]],
    "sampled": [1, 2, 0],
    "true_expected_count": [[0.5], [0.25]],
    "sampled_expected_count": [0.5, 0.5, 0.5],
}
# class 1, item 0's true class, sampled twice
TWICE = {**ARRAYS, "sampled": [1, 2, 1]}


def accidental_hit(case: Case) -> bool:
    return bool(np.any(sampled.accidental_hits(case.rounded())))


def last_position_hits(a) -> np.ndarray:
    """The kernel's rule: a map from each sampled class to its *last* position in the sample, so
    a class sampled more than once is a hit only there."""
    ids = a["sampled"]
    last = np.array([j == np.flatnonzero(ids == c)[-1] for j, c in enumerate(ids)], bool)
    return sampled.accidental_hits(a) & last[None, :]


def hit_sampled_twice(case: Case) -> bool:
    a = case.rounded()
    return bool(np.any(sampled.accidental_hits(a) != last_position_hits(a)))


def _last_position_model(loss: str):
    formula = getattr(sampled, loss)
    vjp = getattr(sampled, f"{loss}_vjp")

    def model(case: Case) -> Prediction:
        return predict(
            case,
            elementwise=lambda a, p: formula(a, p, hits=last_position_hits),
            elementwise_vjp=lambda a, p, g: vjp(a, p, g, hits=last_position_hits),
        )

    return model


def one_per(name: str, axes: tuple[str, ...]):
    """The array has the shape the op expects (another shape raises in TensorFlow)."""

    def pred(case: Case) -> bool:
        a = case.rounded()
        sizes = {"N": a["inputs"].shape[0], "E": a["labels"].shape[1], "S": len(a["sampled"])}
        return a[name].shape == tuple(sizes[k] for k in axes)

    return pred


def biases_longer(case: Case) -> bool:
    a = case.rounded()
    others = {k: v for k, v in a.items() if k != "biases"}
    fits = all(one_per(k, axes)(case) for k, axes in EXPECTED_SHAPES.items())
    return fits and a["biases"].ndim == 1 and len(a["biases"]) > len(others["weights"])


EXPECTED_SHAPES = {"true_expected_count": ("N", "E"), "sampled_expected_count": ("S",)}


def _entries(loss: str, nan_how: str) -> list[Divergence]:
    return [
        Divergence(
            id=f"{loss}/tf-accidental-hits-no-xla",
            kind="known-bug",
            loss=loss,
            description=(
                "remove_accidental_hits=True calls the op ComputeAccidentalHits, which has no XLA "
                "kernel: under tf.function(jit_compile=True) the call raises InvalidArgumentError "
                "'Detected unsupported operations … ComputeAccidentalHits'"
            ),
            citation=f"{NN_IMPL}#L1866-L1868",
            where={"remove_accidental_hits": True},
            modes=("jit",),
            affects=("error",),
            example=Example(
                {"reduction": "sum", "remove_accidental_hits": True}, ARRAYS, mode="jit"
            ),
        ),
        Divergence(
            id=f"{loss}/tf-half-hit-weight-inf",
            kind="known-bug",
            loss=loss,
            description=(
                "an accidental hit is removed by adding its weight −FLOAT_MAX (−3.4e38) to the "
                "sampled logit, cast to the logits' dtype: −inf in float16 and bfloat16, and "
                + nan_how
            ),
            citation=f"{NN_IMPL}#L1881-L1888",
            where={"remove_accidental_hits": True},
            dtypes=("float16", "bfloat16"),
            inputs=accidental_hit,
            inputs_text="a sampled class equal to one of an item's true classes",
            example=Example(
                {"reduction": "sum", "remove_accidental_hits": True}, ARRAYS, "float16"
            ),
        ),
        Divergence(
            id=f"{loss}/tf-hit-removed-at-last-position-only",
            kind="known-bug",
            loss=loss,
            description=(
                "ComputeAccidentalHits maps each sampled class to one position, the last (an "
                "unordered_map filled in order), so a true class sampled twice is removed at its "
                "last position only and its earlier copies stay in the loss (sample (1, 2, 1), "
                "item 0's true class 1: position 0 kept)"
            ),
            citation=HITS_KERNEL,
            where={"remove_accidental_hits": True},
            dtypes=("float64", "float32"),
            modes=("eager",),
            inputs=hit_sampled_twice,
            inputs_text="a sampled class that is an item's true class and is sampled again later",
            model=_last_position_model(loss),
            model_text="the reference with only the last position of each sampled class removed",
            example=Example({"reduction": "sum", "remove_accidental_hits": True}, TWICE),
        ),
    ]


DIVERGENCES: list[Divergence] = [
    *_entries(
        "sampled_softmax_loss",
        "softmax_cross_entropy_with_logits gives the item's loss NaN (label 0 times log-softmax "
        "−inf)",
    ),
    *_entries(
        "nce_loss",
        "sigmoid_cross_entropy_with_logits evaluates −inf·0 = NaN for the hit (label 0)",
    ),
]


def _accepts(loss: str) -> list[Accepts]:
    rows = []
    for name, axes in (("true_expected_count", ("N", "E")), ("sampled_expected_count", ("S",))):
        arrays = {**ARRAYS, name: np.zeros(np.shape(ARRAYS[name])).tolist()}
        rows.append(
            Accepts(
                id=f"{loss}/tf-{name.replace('_', '-')}-unchecked",
                kind="known-bug",
                loss=loss,
                argument=name,
                description=(
                    "expected counts are not checked: math_ops.log of 0 or of a negative count "
                    "gives a logit of +inf or NaN, and the loss is returned"
                ),
                citation=f"{NN_IMPL}#L1890-L1893",
                accepts=one_per(name, axes),
                accepts_text="one count per "
                + ("true class of an item" if len(axes) == 2 else "sampled class"),
                example=Example({"reduction": "sum"}, arrays),
            )
        )
    for name in ("labels", "sampled"):
        rows.append(
            Accepts(
                id=f"{loss}/tf-xla-gather-clamps-{name}",
                kind="known-bug",
                loss=loss,
                argument=name,
                description=(
                    "the weights and biases are gathered at the class ids (embedding_lookup); "
                    "eager kernels reject an id outside [0, C) ('indices[0] = 4 is not in [0, "
                    "4)'), but under XLA a gather clamps its start indices into range, so C reads "
                    "row C − 1 and −1 row 0 and a loss is returned"
                ),
                citation=f"{XLA_GATHER}; {NN_IMPL}#L1820-L1821",
                modes=("jit",),
                example=Example(
                    {"reduction": "sum"},
                    {**ARRAYS, name: np.full(np.shape(ARRAYS[name]), 4).tolist()},
                    mode="jit",
                ),
            )
        )
    rows.append(
        Accepts(
            id=f"{loss}/tf-biases-not-matched-to-weights",
            kind="known-bug",
            loss=loss,
            argument="shapes",
            description=(
                "the biases are only gathered at the true and sampled ids "
                "(embedding_lookup(biases, all_ids)): a bias vector longer than the number of "
                "classes C of the weights is taken, its extra entries never read"
            ),
            citation=f"{NN_IMPL}#L1840-L1841",
            accepts=biases_longer,
            accepts_text="biases longer than the weights' C rows, every other shape as expected",
            example=Example({"reduction": "sum"}, {**ARRAYS, "biases": [*ARRAYS["biases"], 0.0]}),
        )
    )
    return rows


ACCEPTS: list[Accepts] = [*_accepts("sampled_softmax_loss"), *_accepts("nce_loss")]
