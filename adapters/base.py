"""The adapter contract: how lossconf asks a framework to compute a loss, and what comes back.

An adapter knows its framework's name, version, devices, dtypes and execution modes; maps a
canonical configuration (:mod:`reference.configs`) to the native call it makes, or says why the
framework does not offer it; and runs a :class:`reference.Case`, returning the value, the
gradients from the framework's own autodiff, and any exception the framework raised — as data.
Each adapter module calls how it builds one native call a ``Recipe``; a loss it has no recipe for
is :class:`NotOffered`, whether or not a table names it.

Adapters never implement loss math. The one composition allowed is what every user of the
framework writes by hand (``jnp.mean`` over optax's per-example losses), and it is declared in
:attr:`Native.composition` so the report's mapping table shows it.
"""

from __future__ import annotations

import abc
import re
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np

import reference as R
from reference import Case

# The contract types live in reference/contract.py (cases/ reads them too); re-exported here so an
# adapter module imports everything it builds from one place.
from reference.contract import (  # noqa: F401
    Accepts,
    Divergence,
    Example,
    FrameworkError,
    Native,
    NotOffered,
    Outcome,
    Release,
    version_in,
)


class Adapter(abc.ABC):
    """One framework. Subclasses import their framework lazily (in ``__init__`` or on first use)."""

    name: str = ""
    modes: tuple[str, ...] = ("eager",)
    dtypes: tuple[str, ...] = ("float64", "float32", "float16", "bfloat16")

    def compiles_per_shape(self, mode: str) -> bool:
        """Whether running ``mode`` compiles once per input shape (so the conformance run draws
        shapes from a small menu and reuses compilations). Every mode but eager, by default."""
        return mode != "eager"

    def kernel_asserts(self, device: str) -> str | None:
        """Why the invalid *values* (a class index out of range, a probability above 1) cannot be
        tried on ``device`` in this process, or None where they can (the default).

        A native kernel that checks its inputs with a device-side assertion (CUDA's
        ``CUDA_KERNEL_ASSERT``) does not raise an exception the caller can catch: the assertion
        ends the process's context on that device, and every later call there fails. The run
        leaves those cases out on such a device, counts them in each record and names the device
        and this reason in the run header; the invalid shapes, checked on the host, still run."""
        return None

    @abc.abstractmethod
    def version(self) -> str:
        """The framework's version string as it reports it (``torch.__version__``); a
        :class:`Release` where registry entries depend on other packages' versions too."""

    def versions(self) -> dict[str, str]:
        """Every package whose version matters (e.g. jax, jaxlib and optax)."""
        return {self.name: self.version()}

    def identity(self) -> dict[str, str]:
        """Run-header fields beyond name and version that tell runs of this adapter apart (keras:
        the backend and its version); they name the results file too. None by default."""
        return {}

    @abc.abstractmethod
    def devices(self) -> list[str]:
        """Devices usable now, as canonical strings: "cpu", "cuda:0", …; CPU always first."""

    @abc.abstractmethod
    def mapping(self, loss: str, config: Mapping[str, Any]) -> Native | NotOffered:
        """The native call for a canonical configuration, or why there is none."""

    @abc.abstractmethod
    def run(self, case: Case) -> Outcome:
        """Compute the case natively; never raise for what the framework raises (return it)."""

    @abc.abstractmethod
    def snippet(self, case: Case) -> str:
        """Standalone Python source for the reproducer: with ``arrays`` (dict of NumPy arrays as the
        framework sees them: float64 holding values rounded to the case dtype, int64 indices) and
        ``cotangent`` (NumPy array or None) already defined, it imports the framework, runs the
        native call exactly as :meth:`run` does (same dtype, device, mode, composition) and binds
        ``value`` (float64 NumPy array) and ``grads`` (dict of float64 NumPy arrays)."""

    @property
    def first_calls(self) -> FirstCalls:
        """The timing of this adapter's native calls (see :class:`FirstCalls`), made on first
        use so that an adapter's ``__init__`` need not call this class's."""
        found = self.__dict__.get("_first_calls")
        if found is None:
            found = self.__dict__["_first_calls"] = FirstCalls()
        return found

    def time_compilations(self, on: bool = True) -> None:
        """Whether a first call at a new input signature runs again, so that the benchmark
        reports the framework's compilation apart from the native call (``--timings``)."""
        self.first_calls.enabled = on

    def alternatives(self, loss: str, config: Mapping[str, Any]) -> Mapping[str, Native]:
        """Further native forms of a configuration besides ``mapping``'s (API name -> Native),
        e.g. a loss function beside its class. The engine runs each as its own item, calling
        ``run(case, api=name)`` and ``snippet(case, api=name)``, and records it with ``api``; an
        adapter that offers none needs neither keyword. Registry entries apply to every API of
        a configuration alike (an entry that holds for one form only says so in its predicate)."""
        return {}

    def divergences(self) -> list[Divergence]:
        """This framework's registry of known divergences."""
        return []

    def differentiable_arguments(self, case: Case) -> list[str]:
        """Arguments whose gradient the reference defines for this case (float, differentiable)."""
        spec = R.get(case.loss)
        params = {**spec.defaults(), **case.params}
        return [
            a.name
            for a in spec.arrays
            if a.name in case.arrays and a.differentiable and not a.domain_for(params).integer
        ]


class FirstCalls:
    """Times native calls that trace or compile once per input signature, keeping the
    framework's compilation apart from the steady call.

    A jitted function (``jax.jit``, ``tf.function``) traces and compiles inside its first call at
    a new shape and dtype, and a JAX eager call compiles each primitive there. That time is the
    framework's cost at a new shape: not the native call the benchmark's ``native`` stage
    reports (a user's loop pays it once), nor the harness's work around it. So the first call at
    a signature is run again: the second run is the native time, and the first run, whole, is
    the compiling call (``Outcome.compile_seconds``). The outcome is the second run's; the
    frameworks' losses are deterministic (no sampler runs).
    A call that raises is not run again; its seconds are kept in ``raised_seconds``, and the
    adapter's forward-only call after it (:meth:`after_raise`) counts both as native: tracing,
    raising and TensorFlow's interpolation of its error message (a quarter of a TensorFlow ci
    run, measured with py-spy) are the framework's work, not the harness's.

    Off unless asked for (:meth:`Adapter.time_compilations`, which ``--timings`` turns on): the
    second run costs a native call per new signature, about 10 s of a CI stage on jax. Off, a
    call runs once and its time, compilation included, is the native time.
    """

    def __init__(self, enabled: bool = False):
        self.enabled = enabled
        self._seen: set[Hashable] = set()
        self.raised_seconds = 0.0  # the latest call that raised

    def run(self, call: Callable[[], Any], signature: Hashable | None) -> tuple[Any, float, float]:
        """``(result, native seconds, compiling-call seconds)`` of ``call()``; ``signature``
        (the compiled function and its inputs' shapes and dtypes) None for a call that compiles
        nothing (eager modes of eager frameworks)."""
        start = time.perf_counter()
        try:
            out = call()
        except Exception:
            self.raised_seconds = time.perf_counter() - start
            raise
        first = time.perf_counter() - start
        if not self.enabled or signature is None or signature in self._seen:
            return out, first, 0.0
        self._seen.add(signature)
        start = time.perf_counter()
        out = call()
        return out, time.perf_counter() - start, first

    def after_raise(self, forward: Callable[[], Any]) -> tuple[Any, Exception | None, float]:
        """The forward-only call an adapter makes after :meth:`run` raised, to tell a forward
        error from a gradient error: ``(result, None, seconds)`` or ``(None, its exception,
        seconds)``, the seconds those of both calls (the native time)."""
        start = time.perf_counter()
        try:
            out, error = forward(), None
        except Exception as exc:  # the framework's exception is data
            out, error = None, exc
        return out, error, self.raised_seconds + time.perf_counter() - start


def signature_of(compiled: object, arrays: Mapping[str, Any] | Any) -> tuple:
    """What a per-shape compilation is keyed by: the compiled function (held for the run by its
    adapter, so its id is not reused) and each input's shape and dtype."""
    values = arrays.values() if isinstance(arrays, Mapping) else arrays
    return (id(compiled), *((tuple(np.shape(v)), str(getattr(v, "dtype", ""))) for v in values))


def to_numpy(x: Any) -> np.ndarray:
    """A framework result as a float64 NumPy array (bfloat16 and float16 widened exactly)."""
    return np.asarray(x, dtype=np.float64)


def dtype_name(x: Any) -> str:
    """The dtype of a NumPy-like result (a NumPy or JAX array) as the suite names dtypes
    ("float16", "bfloat16"): what :attr:`Outcome.value_dtype` reports, before any widening."""
    return np.dtype(x.dtype).name


# A tf.function's graph is named for its Python function and a counter of every function the
# process has traced (``__inference_forward_93044``): the number says nothing about the error and
# depends on what the process traced before, so a results file of two workers differed from a
# serial run's, and one run's from the next, in the text of the same error. It is recorded as
# ``__inference_forward_<n>``.
_GRAPH_COUNTER = re.compile(r"(__inference_\w+?)_\d+\b")


def tensorflow_error(exc: BaseException) -> FrameworkError:
    """An exception as data, TensorFlow's wrappers taken off (the tf adapter, and the Keras
    adapter on every backend: the rules match only TensorFlow's text): a ``tf.function``'s
    trace-time "in user code:" traceback reduced to its last line, the error itself; a kernel
    error's leading "{{function_node …}}" tag removed; the graph counter in a function's name
    replaced by ``<n>``."""
    error = FrameworkError.of(exc)
    text = str(exc).strip()
    if text.startswith("in user code:"):
        last = text.splitlines()[-1].strip()
        kind, sep, message = last.partition(": ")
        error = FrameworkError(kind if sep else error.type, (message if sep else last)[:500])
    message = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", error.message)
    return FrameworkError(error.type, _GRAPH_COUNTER.sub(r"\1_<n>", message))
