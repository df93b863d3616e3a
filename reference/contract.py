"""The neutral contract between the cases and the adapters: plain data both sides import.

What a framework returned (:class:`Outcome`, :class:`FrameworkError`), how a configuration is
computed natively or why it is not (:class:`Native`, :class:`NotOffered`), and the registry form of
a known divergence (:class:`Divergence`, its :class:`Example`, the :class:`Accepts` rows of
error-only divergences), with the version ranges entries are scoped by (:func:`version_in`,
:class:`Release`). ``adapters/`` builds these; ``cases/`` reads them; neither needs the other.
The tolerance model's constants live here too, because registry predicates that decide whether a
difference is visible must use the same numbers as the comparison (``cases.tolerance``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from . import core, registry
from .case import Case
from .configs import config_of as _config_of
from .spec import Elementwise, LossSpec
from .terms import TermScale

# --- the constants of the tolerance model (cases/tolerance.py explains and calibrates them) -----

K_VALUE = 8.0  # rounding errors of size u·S a loss value may accumulate (measured ≤ 3.5)
K_GRAD = 12.0  # the same for a gradient, one more pass through autodiff (measured ≤ 5.4)
K_SUM = 1.0  # the pairwise summation bound u·log2(n)·Σ|terms|: theory, not a fit


@dataclass(frozen=True)
class Native:
    """How a configuration is computed natively.

    ``call``: the native API call as a user would write it (shown in the report).
    ``composition``: the user-level composition around it, if any (``jnp.mean(…)``).
    ``conversions``: parameter conversions the mapping makes (``delta = beta``: smooth_l1 → huber),
    never result scaling.
    """

    call: str
    composition: str | None = None
    conversions: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotOffered:
    """The framework has no native form of this configuration (the reason says what is missing)."""

    reason: str


@dataclass(frozen=True)
class FrameworkError:
    """An exception the framework raised, kept as data: its type name and its first line."""

    type: str
    message: str

    @classmethod
    def of(cls, exc: BaseException) -> FrameworkError:
        text = str(exc).strip().splitlines()
        return cls(type(exc).__name__, text[0][:500] if text else "")


@dataclass
class Outcome:
    """What a framework returned for one case, in float64 NumPy arrays.

    ``error`` is set when the forward call raised (then ``value`` is None). ``grads`` holds the
    vector-Jacobian product for every differentiable argument the framework could differentiate;
    ``grad_errors`` says, per argument, why it could not (the framework raised or returned no
    gradient). ``seconds`` is the time of the native call alone, for the benchmark;
    ``compile_seconds`` the whole first call at a new input signature where the framework traced
    or compiled for it (:class:`adapters.base.FirstCalls`), 0 where the call compiled nothing.
    ``value_dtype`` and ``grad_dtypes`` are the dtypes of the value and of each gradient *as the
    framework returned them* (before the widening to float64), named as the suite names dtypes
    ("float16", "bfloat16", …): result fidelity is compared too (None / absent: not reported).
    """

    value: np.ndarray | None = None
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    grad_errors: dict[str, str] = field(default_factory=dict)
    error: FrameworkError | None = None
    seconds: float = 0.0
    value_dtype: str | None = None
    grad_dtypes: dict[str, str] = field(default_factory=dict)
    compile_seconds: float = 0.0


@dataclass(frozen=True)
class Example:
    """The inputs that show a registry entry: one concrete case of the entry's loss, small enough to
    read, on which the entry applies and the framework differs from the reference in the parts the
    entry affects. ``tests/adapters/test_registry.py`` runs every entry's example on the installed
    framework, so an entry cannot outlive the behaviour it documents unnoticed.

    ``params``: the canonical parameters (reduction included; defaults filled in from the spec);
    ``arrays``: float64 arrays (int64 for class indices) as the reference takes them; ``cotangent``:
    for reduction ``none``, the vector of the vector-Jacobian product. ``loss``: the example's loss,
    for an entry of every loss ("*"); otherwise the entry's own. ``api``: the native API to run
    it with, where the adapter offers several for the configuration and the divergence belongs to
    one of them (None: the configuration's own native call).
    """

    params: Mapping[str, Any]
    arrays: Mapping[str, Any]
    dtype: str = "float64"
    cotangent: Any = None
    mode: str = "eager"
    device: str = "cpu"
    loss: str | None = None
    api: str | None = None

    def case(self, loss: str) -> Case:
        loss = self.loss or loss
        spec = registry.get(loss)
        arrays = {
            name: np.asarray(
                value,
                dtype=np.int64
                if spec.array(name).domain_for({**spec.defaults(), **self.params}).integer
                else np.float64,
            )
            for name, value in self.arrays.items()
        }
        cotangent = None if self.cotangent is None else np.asarray(self.cotangent, np.float64)
        return Case(
            loss,
            dict(self.params),
            arrays,
            self.dtype,
            self.device,
            self.mode,
            cotangent,
            label="registry example",
        )


@dataclass(frozen=True)
class Prediction:
    """What a framework returns where a registry entry applies, by the entry's own account: the
    value and the gradients (vector-Jacobian product, as :meth:`Case.reference` gives them) in
    float64, with NaN or ±inf where the documented behaviour is not finite.

    ``spec``: the modified definition it was computed from, whose term scale bounds the error a
    correct evaluation of *it* makes (None: the reference's own terms bound it, as for a
    prediction that only places non-finite values); ``params``: the parameters it was evaluated
    with where the change is one of a parameter (eps rounded to the dtype), else None.
    """

    value: np.ndarray
    grads: Mapping[str, np.ndarray]
    spec: LossSpec | None = None
    params: Mapping[str, Any] | None = None


def predict(
    case: Case,
    *,
    elementwise: Callable[[Mapping[str, np.ndarray], Mapping[str, Any]], Elementwise] | None = None,
    elementwise_vjp: Callable[..., dict[str, np.ndarray]] | None = None,
    term_scale: TermScale | None = None,
    params: Mapping[str, Any] | None = None,
) -> Prediction:
    """The reference's definition of ``case.loss`` with a documented change applied, evaluated as
    the reference is (validation, reduction, cotangent: :func:`reference.core.value_and_vjp`) on
    the inputs as the framework received them (``case.rounded()``).

    ``elementwise``/``elementwise_vjp`` replace the loss's unreduced formula and its
    vector-Jacobian product (same signatures as :class:`LossSpec`'s; a model calls the
    reference's own functions for everything it does not change); ``term_scale`` the terms a
    standard evaluation of the changed formula adds up (needed where the change makes a result
    finite that the reference's terms call infinite); ``params`` parameters that differ from the
    case's (an epsilon as the dtype holds it).
    """
    spec = registry.get(case.loss)
    changes = {
        name: value
        for name, value in (
            ("elementwise", elementwise),
            ("elementwise_vjp", elementwise_vjp),
            ("term_scale", term_scale),
        )
        if value is not None
    }
    changed = dataclasses.replace(spec, **changes) if changes else spec
    evaluated = {**case.params, **params} if params else dict(case.params)
    value, grads = core.value_and_vjp(changed, case.rounded(), evaluated, case.rounded_cotangent())
    return Prediction(
        np.asarray(value, dtype=np.float64),
        grads,
        changed if changes else None,
        dict(params) if params else None,
    )


def predict_nonfinite(
    case: Case,
    value: np.ndarray | None = None,
    grads: Mapping[str, np.ndarray] | None = None,
    fill: float = np.nan,
    grad_fill: float | None = None,
) -> Prediction:
    """The reference's result with ``fill`` (NaN unless said) where a behaviour is not finite:
    ``value``, a mask of the unreduced loss (reduction ``none``'s shape, broadcastable), puts
    ``fill`` into those elements *before* the case's reduction, so a reduced value is NaN (or
    ±inf) exactly when a masked element reaches it; ``grads`` maps an argument to a mask of its
    shape where its gradient is ``grad_fill`` (default: ``fill``)."""
    spec = registry.get(case.loss)
    elementwise = None
    if value is not None:
        mask = np.asarray(value, dtype=bool)

        def elementwise(a, p):
            el = spec.elementwise(a, p)
            loss = np.where(np.broadcast_to(mask, el.loss.shape), fill, el.loss)
            return Elementwise(loss, el.denominators)

    found = predict(case, elementwise=elementwise)
    out = dict(found.grads)
    filled = fill if grad_fill is None else grad_fill
    for name, where in (grads or {}).items():
        out[name] = np.where(
            np.broadcast_to(np.asarray(where, bool), out[name].shape), filled, out[name]
        )
    return Prediction(found.value, out)


# The name by which an entry's ``apis`` means a configuration's main native call (the one
# ``Adapter.mapping`` returns), as opposed to its alternatives (``Adapter.alternatives``).
MAIN_API = "main"


@dataclass(frozen=True)
class Divergence:
    """A known difference between a framework and the reference, with its citation.

    ``kind``: ``convention`` (documented behaviour: verdict ``convention``) or ``known-bug``
    (verdict stays ``mismatch``/``error-mismatch``, marked known). It applies to ``loss`` ("*" for
    every loss) in configurations containing ``where`` (a subset of the configuration, e.g.
    ``{"reduction": "mean"}``), for the listed dtypes/devices/modes (empty: all), to inputs for
    which ``inputs(case)`` is true (None: all inputs; ``inputs_text`` says it in words), for the native
    forms in ``apis`` (empty: every form of the configuration; :data:`MAIN_API` names the main
    call, an alternative goes by its API name), and to the parts
    of the comparison in ``affects`` ("value", "grad", "error", "dtype"), and, where ``kinds`` is
    not empty, only to failed parts of those difference kinds (``cases.compare``: "nan-where-finite",
    "inf-where-finite", …). ``versions`` is a range of framework
    versions such as ">=2.0,<3" ("" = all); a clause may name another package of the release,
    ``"optax>=0.2.5"``, when the behaviour belongs to it (see :class:`Release`). An entry that
    applies to examples that nevertheless all agree with the reference is *stale* and is reported,
    so registries follow upgrades.
    """

    id: str
    kind: Literal["convention", "known-bug"]
    loss: str
    description: str
    citation: str
    where: Mapping[str, Any] = field(default_factory=dict)
    inputs: Callable[[Case], bool] | None = None
    inputs_text: str = "all inputs"
    affects: tuple[str, ...] = ("value", "grad")
    dtypes: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    versions: str = ""
    example: Example | None = None
    kinds: tuple[str, ...] = ()
    model: Callable[[Case], Prediction] | None = None
    model_text: str = ""
    # the native forms it holds for (empty: all): an alternative API by its name, the
    # configuration's main call as MAIN_API
    apis: tuple[str, ...] = ()

    def __post_init__(self):
        if self.model is not None and "error" in self.affects:
            raise ValueError(f"{self.id}: an entry about errors predicts no value (model=None)")
        if self.model is not None and not self.model_text:
            raise ValueError(f"{self.id}: a model says what it predicts (model_text)")

    def predict(self, case: Case) -> Prediction:
        """The entry's :class:`Prediction` for ``case`` (which it applies to); floating-point
        warnings off, as for predicates."""
        if self.model is None:
            raise ValueError(f"{self.id} has no model")
        with np.errstate(all="ignore"):
            return self.model(case)

    def matches_config(
        self,
        loss: str,
        config: Mapping[str, Any],
        dtype: str,
        device: str,
        mode: str,
        version: str,
        api: str | None = None,
    ) -> bool:
        """Whether the entry applies to this loss, configuration, dtype, device, mode, version and
        native form (``api``: an alternative API's name, None for the main call): the part every
        example of a conformance item shares (the judge asks it once per item)."""
        return (
            self.loss in ("*", loss)
            and (not self.apis or (api or MAIN_API) in self.apis)
            and all(config.get(k) == v for k, v in self.where.items())
            and (not self.dtypes or dtype in self.dtypes)
            and (not self.devices or device.split(":")[0] in self.devices or device in self.devices)
            and (not self.modes or mode in self.modes)
            and version_in(version, self.versions)
        )

    def matches_inputs(self, case: Case) -> bool:
        """Whether the entry applies to these inputs (its configuration part already holds).

        The one validity guard of the registries: a value or gradient divergence exists only where
        the reference returns a value, so an entry whose ``affects`` lacks "error" never applies to
        an input the reference rejects, and its predicate is not asked (generated invalid inputs
        would trip it over mismatched shapes). Predicates run with NumPy's floating-point warnings
        off, because infinities and NaNs are what many of them look for. A predicate that raises
        is a bug of the registry: the exception propagates.
        """
        if "error" not in self.affects and case.rejection() is not None:
            return False
        if self.inputs is None:
            return True
        with np.errstate(all="ignore"):
            return bool(self.inputs(case))

    def applies(self, case: Case, version: str, api: str | None = None) -> bool:
        """``matches_config`` on the case's configuration (computed by native form ``api``, None:
        the main call), then ``matches_inputs``: the judge (:mod:`cases.judge`) calls the same
        two, remembering the first per configuration."""
        config = _config_of(registry.get(case.loss), case.params, set(case.arrays))
        if not self.matches_config(
            case.loss, config, case.dtype, case.device, case.mode, version, api
        ):
            return False
        return self.matches_inputs(case)

    def as_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "loss": self.loss,
            "description": self.description,
            "inputs": self.inputs_text,
            "citation": self.citation,
            "versions": self.versions,
            **({"kinds": list(self.kinds)} if self.kinds else {}),
            "model": self.model_text or None,
            **({"apis": list(self.apis)} if self.apis else {}),
        }


@dataclass(frozen=True)
class Accepts:
    """An error-only divergence: the framework returns a number where the reference rejects the
    input because of one argument (``argument`` is :attr:`reference.InvalidInput.argument`:
    "shapes", "weight", "target", …). Such entries form a table keyed by (loss, argument): the
    reference's own check decides where they apply, and ``accepts`` (optional) narrows them to the
    inputs the framework is known to take (torch broadcasts shapes, but only broadcastable ones).

    :meth:`as_divergence` turns a row into the :class:`Divergence` the judge applies, with
    ``affects=("error",)``.
    """

    id: str
    loss: str
    argument: str
    description: str
    citation: str
    kind: Literal["convention", "known-bug"] = "convention"
    accepts: Callable[[Case], bool] | None = None
    accepts_text: str = ""
    where: Mapping[str, Any] = field(default_factory=dict)
    dtypes: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    versions: str = ""
    example: Example | None = None
    apis: tuple[str, ...] = ()  # as Divergence.apis

    def rejects_argument(self, case: Case) -> bool:
        rejection = case.rejection()
        if rejection is None or rejection.argument != self.argument:
            return False
        return self.accepts is None or bool(self.accepts(case))

    def as_divergence(self) -> Divergence:
        text = f"the reference rejects {self.argument}"
        return Divergence(
            id=self.id,
            kind=self.kind,
            loss=self.loss,
            description=self.description,
            citation=self.citation,
            where=self.where,
            inputs=self.rejects_argument,
            inputs_text=text + (f" and {self.accepts_text}" if self.accepts_text else ""),
            affects=("error",),
            dtypes=self.dtypes,
            modes=self.modes,
            versions=self.versions,
            example=self.example,
            apis=self.apis,
        )


class Release(str):
    """A framework's version string that also carries the versions of the packages it runs with.

    ``Release("0.10.2", {"jax": "0.10.2", "jaxlib": "0.10.2", "optax": "0.2.8"})`` is the string
    "0.10.2" everywhere a version string goes (results files, file names, comparisons), and lets a
    registry entry depend on one of those packages: ``versions="optax>=0.2.5"``. An adapter whose
    losses live in another package than its framework returns one from :meth:`Adapter.version`,
    so every caller that passes ``adapter.version()`` to :meth:`Divergence.applies` keeps working.
    """

    packages: Mapping[str, str]

    def __new__(cls, version: str, packages: Mapping[str, str]) -> Release:
        release = super().__new__(cls, version)
        release.packages = MappingProxyType(dict(packages))
        return release

    def __reduce__(self):
        return (Release, (str(self), dict(self.packages)))


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text.split("+")[0])[:3])


# An optional package name, a comparison, a version: "optax>=0.2.5", "<2.14".
_CLAUSE = re.compile(r"([A-Za-z_][\w.-]*)?\s*(>=|<=|==|!=|>|<)\s*(\d[\w.+-]*)")


def _version_of(version: str, package: str | None, spec: str) -> str:
    """The version a clause compares: the framework's, or the named package's in the release."""
    if package is None:
        return version
    packages = getattr(version, "packages", {})
    if package not in packages:
        raise ValueError(
            f"version range {spec!r} names {package}, but the version {str(version)!r} carries no "
            f"{package} version (pass the adapter's version(), a Release listing its packages)"
        )
    return packages[package]


def version_in(version: str, spec: str) -> bool:
    """Whether ``version`` ("2.13.0+cpu") satisfies a range like ">=2.0,<2.14" ("" = any).

    A clause that names a package ("optax>=0.2.5") compares that package's version, which
    ``version`` must carry (a :class:`Release`).
    """
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            raise ValueError(f"malformed version clause {clause!r} in {spec!r}")
        package, op, bound = match.groups()
        v, b = _version_tuple(_version_of(version, package, spec)), _version_tuple(bound)
        ok = {
            ">=": v >= b,
            "<=": v <= b,
            ">": v > b,
            "<": v < b,
            "==": v == b,
            "!=": v != b,
        }[op]
        if not ok:
            return False
    return True
