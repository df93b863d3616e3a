"""The PyTorch adapter: ``torch.nn.functional`` losses, eager mode, gradients from ``torch.autograd``.

Canonical names follow ``torch.nn.functional``, so a native call (a :class:`Recipe`) is built
from the loss's spec alone: required arrays go positionally in spec order, optional arrays
(``weight``, ``pos_weight``) and API parameters go by keyword under the same names. The only
departures are data in :data:`DROPPED` (canonical parameters torch has no argument for) and
:data:`NOT_OFFERED`; a loss with neither a ``FUNCTIONS`` entry nor a reason there is not offered.

torch is imported when the adapter is instantiated (``adapters.load("torch")``), never at
``import adapters``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import reference as R
from reference import Case

from .base import Adapter, Divergence, FrameworkError, Native, NotOffered, Outcome
from .known.torch import DIVERGENCES

FUNCTIONAL = "torch.nn.functional"

# Losses torch has no function for, with the reason shown in the report.
NOT_OFFERED = {
    "sigmoid_focal_loss": (
        "torch.nn.functional has no focal loss; it lives in torchvision.ops.sigmoid_focal_loss, "
        "and torchvision cannot be installed beside this CPU torch wheel (PyPI's torchvision "
        "fails to import: 'operator torchvision::nms does not exist')"
    ),
    "log_cosh": "torch has no log-cosh loss (neither torch.nn.functional nor torch.nn)",
    **{
        loss: (
            "torch.nn.functional.cosine_similarity(x1, x2, dim=1, eps=1e-8) has this definition "
            "(each norm clamped at eps) but is not a loss: it has no reduction argument and "
            "reduces dim 1 (out of range for a (D) vector), and the torch adapter runs "
            "torch.nn.functional's own arguments without composition"
            + ("; 1 − it would be one more" if loss == "cosine_distance" else "")
        )
        for loss in ("cosine_similarity", "cosine_distance")
    },
    "mean_squared_logarithmic_error": (
        "torch has no squared logarithmic error (neither torch.nn.functional nor torch.nn): "
        "mse_loss(log1p(input), log1p(target)) would be a composition no torch API names"
    ),
    "mean_absolute_percentage_error": (
        "torch has no percentage error (neither torch.nn.functional nor torch.nn)"
    ),
    "l2_loss": (
        "torch.nn.functional has no half squared error: mse_loss is (x − y)², twice this loss, "
        "and halving it by hand would be a composition no torch API names"
    ),
    "hinge_loss": (
        "torch.nn.functional has no binary hinge loss max(0, 1 − y·x): hinge_embedding_loss is x "
        "for y = 1 and max(0, margin − x) for y = −1 (a loss of distances, mapped under its own "
        "name), and multi_margin_loss takes a score per class"
    ),
    "squared_hinge": (
        "torch.nn.functional has no squared hinge loss max(0, 1 − y·x)² on one score "
        "(multi_margin_loss(p=2) sums squared hinges over the wrong classes of a score per class, "
        "divided by C)"
    ),
    "perceptron_loss": "torch has no perceptron loss (neither torch.nn.functional nor torch.nn)",
    "multiclass_hinge_loss": (
        "torch.nn.functional.multi_margin_loss is not the Crammer-Singer hinge: it sums "
        "max(0, margin − x_y + x_i)^p over every wrong class i and divides by C (mapped under "
        "multi_margin_loss), where this loss takes the best wrong class's hinge alone"
    ),
    "multiclass_perceptron_loss": (
        "torch has no multiclass perceptron loss max_j x_j − x_y (multi_margin_loss(margin=0) "
        "sums the hinges of every wrong class and divides by C)"
    ),
    "negative_cosine_similarity": (
        "torch.nn.functional.cosine_similarity is +cos (mapped under cosine_similarity, where it "
        "is not offered either: no reduction argument); torch has no negated cosine, and −1 · it "
        "would be a composition no torch API names"
    ),
    "categorical_hinge": (
        "torch has no categorical hinge max(0, 1 + max_j (1 − t_j)·x_j − Σ t_j x_j) on target "
        "vectors: multi_margin_loss takes class indices and sums a hinge per wrong class divided "
        "by C (keras.losses.CategoricalHinge is its home)"
    ),
    "poly_loss_cross_entropy": "torch has no poly loss (F.cross_entropy has no ε·Σ t (1 − p) term)",
    "generalized_kl_divergence": "F.kl_div is Σ t (log t − x) without the e^x − t of this loss",
    "sparsemax_loss": "torch has no sparsemax loss (nor sparsemax / sparse_plus)",
    "multiclass_sparsemax_loss": "torch has no sparsemax loss (nor a sparsemax projection)",
    "sampled_softmax_loss": "torch has no sampled softmax loss (no candidate-sampling API)",
    "nce_loss": "torch has no noise-contrastive estimation loss (no candidate-sampling API)",
    "categorical_focal_crossentropy": (
        "torch has no softmax focal loss (neither torch.nn.functional nor torch.nn; "
        "torchvision's focal loss is the sigmoid one): Keras' CategoricalFocalCrossentropy is its "
        "home"
    ),
    "categorical_generalized_cross_entropy": (
        "torch has no generalized cross-entropy (neither torch.nn.functional nor torch.nn): "
        "Keras' CategoricalGeneralizedCrossEntropy is its home"
    ),
    **{
        loss: (
            "torch has no overlap (Dice, Tversky) loss: neither torch.nn.functional nor torch.nn "
            "(it lives in third-party packages such as MONAI)"
        )
        for loss in ("dice_loss", "tversky_loss")
    },
    "ntxent": (
        "torch has no NT-Xent loss (neither torch.nn.functional nor torch.nn; it lives in "
        "pytorch-metric-learning): optax.losses.ntxent is its home"
    ),
    "circle_loss": (
        "torch has no circle loss (neither torch.nn.functional nor torch.nn; it lives in "
        "third-party packages such as pytorch-metric-learning): Keras' Circle is its home"
    ),
}

# The torch.nn.functional function of each loss torch has (canonical names are torch's own).
FUNCTIONS: dict[str, str] = {
    name: name
    for name in (
        "mse_loss",
        "l1_loss",
        "huber_loss",
        "smooth_l1_loss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "cross_entropy",
        "nll_loss",
        "multi_margin_loss",
        "multilabel_soft_margin_loss",
        "multilabel_margin_loss",
        "kl_div",
        "poisson_nll_loss",
        "gaussian_nll_loss",
        "triplet_margin_loss",
        "triplet_margin_with_distance_loss",
        "cosine_embedding_loss",
        "margin_ranking_loss",
        "hinge_embedding_loss",
        "soft_margin_loss",
        "ctc_loss",
    )
}


def _ctc_label_out_of_range(arrays: Mapping[str, np.ndarray]) -> bool:
    """Some label that item n reads (targets[n, :target_lengths[n]]) lies outside [0, K)."""
    n_classes = arrays["input"].shape[-1]
    for row, length in zip(arrays["targets"], arrays["target_lengths"], strict=False):
        read = row[: max(int(length), 0)]
        if np.any((read < 0) | (read >= n_classes)):
            return True
    return False


# Inputs whose backward would corrupt the process's memory: torch computes the value, the gradient
# is not asked for (it would be an out-of-bounds write, not a number), and the outcome says so.
# Only inputs the reference rejects qualify; the registry's Accepts row records the behaviour.
UNSAFE_BACKWARD = {
    "ctc_loss": (
        _ctc_label_out_of_range,
        "not run: for a label outside [0, K) torch's CPU backward writes grad[t][label] out of "
        "bounds (no bound check in LossCTC.cpp; seen: 'munmap_chunk(): invalid pointer', abort)",
    ),
}

# Why invalid values are not tried on a CUDA device (Adapter.kernel_asserts): torch's CUDA loss
# kernels check class indices and probabilities with CUDA_KERNEL_ASSERT where the CPU kernels
# raise, and a failed device-side assertion leaves the CUDA context unusable for the rest of the
# process. Seen on an H200 (torch 2.11.0+cu130): binary_cross_entropy's probability of 1.5
# ("Loss.cu:90: Assertion `input_val >= zero && input_val <= one` failed"), after which each
# later call on cuda:0 in that worker raised AcceleratorError, 424 items in all.
CUDA_KERNEL_ASSERTS = (
    "torch's CUDA kernels check values with device-side assertions that end the process's CUDA "
    "context (aten/src/ATen/native/cuda/Loss.cu, CUDA_KERNEL_ASSERT in "
    "binary_cross_entropy_out_cuda and the nll_loss kernels; "
    "https://pytorch.org/docs/stable/notes/cuda.html#asynchronous-execution)"
)

# The message of the error CUDA raises, on this call and every later one, once a device-side
# assertion has failed in the process.
DEVICE_ASSERT = "device-side assert"

# Canonical parameters that select how the arrays are built, not a torch argument.
# ``target_kind``: torch's cross_entropy tells index from probability targets by the target's dtype.
DROPPED = frozenset({"target_kind"})

# Canonical value meaning "leave the argument out": ignore_index None = nothing is ignored, which
# in torch is its default -100 with no target equal to it.
OMIT_WHEN = {"ignore_index": None}


@dataclass(frozen=True)
class Recipe:
    """How the native call of one loss is built, precomputed from its spec so that ``run`` parses
    nothing."""

    function: str  # name in torch.nn.functional
    positional: tuple[str, ...]  # required arrays, in spec order
    keyword_arrays: tuple[str, ...]  # optional arrays, passed by keyword when present
    params: tuple[str, ...]  # API parameters passed by keyword
    defaults: Mapping[str, Any]  # canonical defaults, to fill a case's params
    arrays: Mapping[str, R.ArraySpec]  # to tell index arrays (kept int64) from float ones

    def integer_arrays(self, full: Mapping[str, Any]) -> frozenset[str]:
        """Arrays holding class indices under these parameters (cross_entropy: target_kind)."""
        return frozenset(n for n, a in self.arrays.items() if a.domain_for(full).integer)

    def kwargs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        full = {**self.defaults, **params}
        return {
            name: full[name]
            for name in self.params
            if not (name in OMIT_WHEN and full[name] is OMIT_WHEN[name])
        }


def _recipe_for(spec: R.LossSpec) -> Recipe:
    api = [p for p in spec.params if p.api and p.name not in DROPPED]
    return Recipe(
        function=FUNCTIONS[spec.name],
        positional=spec.required_arrays,
        keyword_arrays=spec.optional_arrays,
        params=tuple(p.name for p in api),
        defaults=spec.defaults(),
        arrays={a.name: a for a in spec.arrays},
    )


RECIPES: dict[str, Recipe] = {
    spec.name: _recipe_for(spec)
    for spec in R.REGISTRY.values()
    if spec.name not in NOT_OFFERED and spec.name in FUNCTIONS
}


def _render(recipe: Recipe, kwargs: Mapping[str, Any], arrays: tuple[str, ...]) -> str:
    """The call as a user writes it: arrays by name, parameters as Python literals."""
    parts = [*recipe.positional]
    parts += [f"{name}={name}" for name in recipe.keyword_arrays if name in arrays]
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{FUNCTIONAL}.{recipe.function}({', '.join(parts)})"


def _not_offered(loss: str) -> NotOffered:
    return NotOffered(NOT_OFFERED.get(loss, f"the torch adapter maps no native form of {loss}"))


class TorchAdapter(Adapter):
    name = "torch"
    modes = ("eager",)
    dtypes = ("float64", "float32", "float16", "bfloat16")

    def __init__(self) -> None:
        import torch
        import torch.nn.functional as F

        self._torch = torch
        self._functions = {loss: getattr(F, recipe.function) for loss, recipe in RECIPES.items()}
        # canonical dtype names are torch's own attribute names
        self._dtypes = {name: getattr(torch, name) for name in self.dtypes}
        # device -> the first device-side assertion's message, once one has failed on it here
        self._lost: dict[str, str] = {}

    # --- identity ------------------------------------------------------------------------------

    def version(self) -> str:
        return self._torch.__version__

    def devices(self) -> list[str]:
        cuda = self._torch.cuda
        gpus = [f"cuda:{i}" for i in range(cuda.device_count())] if cuda.is_available() else []
        return ["cpu", *gpus]

    def kernel_asserts(self, device: str) -> str | None:
        return CUDA_KERNEL_ASSERTS if device.startswith("cuda") else None

    def divergences(self) -> list[Divergence]:
        return list(DIVERGENCES)

    # --- mapping -------------------------------------------------------------------------------

    def mapping(self, loss: str, config: Mapping[str, Any]) -> Native | NotOffered:
        recipe = RECIPES.get(loss)
        if recipe is None:
            return _not_offered(loss)
        present = tuple(name for name in recipe.keyword_arrays if config.get(name))
        params = {k: v for k, v in config.items() if k not in recipe.keyword_arrays}
        return Native(_render(recipe, recipe.kwargs(params), present))

    # --- running -------------------------------------------------------------------------------

    def _tensors(self, case: Case, recipe: Recipe, differentiable: list[str]) -> dict[str, Any]:
        torch = self._torch
        dtype = self._dtypes[case.dtype]
        integer = recipe.integer_arrays({**recipe.defaults, **case.params})
        out = {}
        # torch.tensor copies: the case's rounded arrays are shared and read-only, and a tensor
        # from torch.from_numpy would share their memory
        for name, value in case.rounded().items():
            if name in integer:
                out[name] = torch.tensor(np.asarray(value, np.int64), device=case.device)
            else:
                t = torch.tensor(np.asarray(value, np.float64)).to(case.device, dtype)
                out[name] = t.requires_grad_(name in differentiable)
        return out

    def _cotangent(self, case: Case):
        cot = case.rounded_cotangent()
        if cot is None:
            return None
        return self._torch.from_numpy(np.asarray(cot, np.float64)).to(
            case.device, self._dtypes[case.dtype]
        )

    def run(self, case: Case) -> Outcome:
        recipe = RECIPES.get(case.loss)
        if recipe is None:
            return Outcome(error=FrameworkError("NotOffered", _not_offered(case.loss).reason))
        lost = self._lost.get(case.device)
        if lost is not None:
            return Outcome(
                error=FrameworkError(
                    "CUDAContextLost",
                    f"not run: a device-side assertion failed earlier on {case.device} in this "
                    f"process ({lost}), and no later call there can succeed",
                )
            )
        try:
            outcome = self._run(case, recipe)
        except Exception as exc:
            # a kernel's failure surfaces at the next synchronising call on its device (CUDA
            # runs kernels asynchronously): the backward, or the copy of a result to the host
            outcome = Outcome(error=FrameworkError.of(exc))
        if outcome.error is not None and DEVICE_ASSERT in outcome.error.message:
            self._lost.setdefault(case.device, outcome.error.message.splitlines()[0])
        return outcome

    def _sync(self, device: str) -> None:
        """Wait for the device's queued kernels, so that a timing covers them (CUDA is
        asynchronous; the CPU runs each call to completion)."""
        if device.startswith("cuda"):
            self._torch.cuda.synchronize(device)

    def _run(self, case: Case, recipe: Recipe) -> Outcome:
        fn = self._functions[case.loss]
        wanted = self.differentiable_arguments(case)
        try:
            x = self._tensors(case, recipe, wanted)
            cot = self._cotangent(case)
            args = [x[name] for name in recipe.positional]
            inputs = [x[name] for name in wanted]
        except Exception as exc:  # a device or dtype torch lacks here, a missing argument
            return Outcome(error=FrameworkError.of(exc))
        kwargs = {name: x[name] for name in recipe.keyword_arrays if name in x}
        kwargs.update(recipe.kwargs(case.params))

        self._sync(case.device)
        start = time.perf_counter()
        try:
            out = fn(*args, **kwargs)
            self._sync(case.device)
        except Exception as exc:
            return Outcome(error=FrameworkError.of(exc), seconds=time.perf_counter() - start)
        unsafe = UNSAFE_BACKWARD.get(case.loss)
        if unsafe is not None and wanted and unsafe[0](case.rounded()):
            seconds = time.perf_counter() - start
            return Outcome(self._numpy(out), {}, dict.fromkeys(wanted, unsafe[1]), None, seconds)
        try:
            found = self._grad(out, inputs, cot)
            self._sync(case.device)
            seconds = time.perf_counter() - start
            results = [(g, None) for g in found]
        except Exception as exc:
            if DEVICE_ASSERT in str(exc):
                raise  # the context is gone: asking again, one argument at a time, cannot help
            # One argument torch cannot differentiate spoils the joint call: ask one at a time,
            # so the others still come back and the failing one is named.
            seconds = time.perf_counter() - start
            results = [self._grad_one(out, x[name], cot) for name in wanted]
        grads, grad_errors, grad_dtypes = {}, {}, {}
        for name, (g, problem) in zip(wanted, results, strict=True):
            if g is not None:
                grads[name] = self._numpy(g)
                grad_dtypes[name] = _dtype_name(g)
            else:
                grad_errors[name] = problem or "torch returned no gradient (not in the graph)"
        return Outcome(
            self._numpy(out),
            grads,
            grad_errors,
            None,
            seconds,
            value_dtype=_dtype_name(out),
            grad_dtypes=grad_dtypes,
        )

    def _grad(self, out, inputs: list, cot) -> tuple:
        """VJPs of ``out`` with ``cot`` (None: the gradient of a scalar); None where unused."""
        if not inputs:
            return ()
        return self._torch.autograd.grad(
            out, inputs, grad_outputs=cot, retain_graph=True, allow_unused=True
        )

    def _grad_one(self, out, tensor, cot) -> tuple[Any, str | None]:
        try:
            (g,) = self._grad(out, [tensor], cot)
            return g, None
        except Exception as exc:
            err = FrameworkError.of(exc)
            return None, f"{err.type}: {err.message}"

    def _numpy(self, t) -> np.ndarray:
        """A tensor as float64 NumPy; widening float16/bfloat16 to float64 is exact."""
        return t.detach().to(self._torch.float64).cpu().numpy()

    # --- reproducer ----------------------------------------------------------------------------

    def snippet(self, case: Case) -> str:
        recipe = RECIPES.get(case.loss)
        if recipe is None:
            return f"# {case.loss} is not offered by torch: {_not_offered(case.loss).reason}\n"
        wanted = self.differentiable_arguments(case)
        integer = sorted(recipe.integer_arrays({**recipe.defaults, **case.params}))
        args = [f"x[{n!r}]" for n in recipe.positional]
        args += [f"{n}=x[{n!r}]" for n in recipe.keyword_arrays if n in case.arrays]
        args += [f"{k}={v!r}" for k, v in recipe.kwargs(case.params).items()]
        lines = [
            "import numpy as np",
            "import torch",
            "import torch.nn.functional as F",
            "",
            f"dtype, device = torch.{case.dtype}, {case.device!r}",
            f"differentiable, integer = {wanted!r}, {integer!r}",
            "x = {}",
            "for name, a in arrays.items():",
            "    if name in integer:  # class indices stay int64",
            "        x[name] = torch.from_numpy(np.asarray(a, np.int64)).to(device)",
            "    else:  # values already rounded to the dtype: the conversion is exact",
            "        t = torch.from_numpy(np.asarray(a, np.float64)).to(device, dtype)",
            "        x[name] = t.requires_grad_(name in differentiable)",
            "cot = None if cotangent is None else "
            "torch.from_numpy(np.asarray(cotangent, np.float64)).to(device, dtype)",
            f"out = F.{recipe.function}({', '.join(args)})",
            "value = out.detach().to(torch.float64).cpu().numpy()",
            "grads = {}",
            "for name in differentiable:  # one at a time: torch may not differentiate every one",
            "    try:",
            "        (g,) = torch.autograd.grad(",
            "            out, [x[name]], grad_outputs=cot, retain_graph=True, allow_unused=True",
            "        )",
            "    except RuntimeError as exc:",
            "        print(f'no gradient for {name}: {exc}')",
            "        continue",
            "    if g is not None:",
            "        grads[name] = g.to(torch.float64).cpu().numpy()",
            "print('torch value', value)",
            "print('torch grads', grads)",
        ]
        return "\n".join(lines) + "\n"


ADAPTER = TorchAdapter


def _dtype_name(t) -> str:
    """A tensor's dtype as the suite names dtypes: torch.float16 -> "float16"."""
    return str(t.dtype).rsplit(".", 1)[-1]
