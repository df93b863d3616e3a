"""A framework that is the reference itself, for testing the conformance engine without one.

Its "native" result is the float64 reference's on the case's rounded inputs, so every comparison
matches unless ``skew`` scales the value (a made-up divergence). It computes no loss itself.

Also a pytest plugin (``-p fake_framework``) that makes ``--framework fake`` resolve to it, so the
conformance plugin's own behaviour can be run end to end; ``LOSSCONF_FAKE_STALE=1`` gives it a
registry entry that applies to mse_loss and never diverges (stale), ``LOSSCONF_FAKE_REVERSE=1``
runs the items in reverse order, ``LOSSCONF_FAKE_KILL=PATH`` kills the process (SIGKILL) on its
first float32 case unless PATH exists, which it creates first, ``LOSSCONF_FAKE_KINK_SKEW=1``
skews its value by 1e-3 on inputs at a kink (a finding outside ordinary inputs).
"""

from __future__ import annotations

import contextlib
import os
import signal

import numpy as np
import pytest

import adapters
import reference as R
from reference.contract import Divergence, FrameworkError, Native, NotOffered, Outcome
from reference.regimes import regime_of

STALE = Divergence(
    id="fake-mse-stale",
    kind="convention",
    loss="mse_loss",
    description="an entry that applies to every mse_loss example and explains nothing",
    citation="tests/cases/fake_framework.py",
    affects=("value",),
)


class FakeAdapter:
    name = "fake"
    modes = ("eager",)
    dtypes = ("float64", "float32")

    def __init__(
        self, skew: float = 0.0, divergences=(), offered: bool = True, example_skew: float = 0.0
    ):
        self.skew, self._divergences, self.offered = skew, list(divergences), offered
        self.example_skew = example_skew  # the skew on registry examples (label "registry example")
        self.kink_skew = 0.0
        self.calls = 0

    def version(self) -> str:
        return "1.0"

    def versions(self) -> dict[str, str]:
        return {"fake": "1.0"}

    def devices(self) -> list[str]:
        return ["cpu"]

    def compiles_per_shape(self, mode: str) -> bool:
        return False

    def kernel_asserts(self, device: str) -> str | None:
        return None

    def divergences(self):
        return self._divergences

    def mapping(self, loss, config):
        return Native(f"fake.{loss}(…)") if self.offered else NotOffered("fake offers nothing")

    def run(self, case) -> Outcome:
        self.calls += 1
        marker = os.environ.get("LOSSCONF_FAKE_KILL")  # a process crash, once per marker file
        if marker and case.dtype == "float32":
            with contextlib.suppress(FileExistsError):  # O_EXCL: one process of all wins
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
                os.kill(os.getpid(), signal.SIGKILL)
        try:
            value, grads = R.value_and_vjp(
                case.loss, case.rounded(), case.params, case.rounded_cotangent()
            )
        except R.InvalidInput as exc:
            return Outcome(error=FrameworkError.of(exc))
        skew = self.skew if case.label != "registry example" else self.example_skew
        if self.kink_skew and regime_of(case) == "kink":
            skew += self.kink_skew
        value = np.asarray(value, dtype=np.float64) * (1.0 + skew)
        return Outcome(value=value, grads=dict(grads))

    def snippet(self, case) -> str:
        return "value, grads = None, {}  # the fake framework has no native call\n"


def ADAPTER() -> FakeAdapter:
    stale = os.environ.get("LOSSCONF_FAKE_STALE") == "1"
    adapter = FakeAdapter(divergences=[STALE] if stale else [])
    if os.environ.get("LOSSCONF_FAKE_KINK_SKEW") == "1":
        adapter.kink_skew = 1e-3
    return adapter


@pytest.hookimpl(tryfirst=True)  # before the conformance plugin resolves --framework
def pytest_configure(config):
    adapters.FRAMEWORKS.setdefault("fake", __name__)


def pytest_collection_modifyitems(session, config, items):
    if os.environ.get("LOSSCONF_FAKE_REVERSE") == "1":
        items.reverse()
