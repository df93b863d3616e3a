"""A planted fault the conformance engine must catch directly: result fidelity (issue 11).

The torch adapter is made to compute float16 cases in float32 and return float32 (as a framework
that silently upcasts would). Every number may then agree with the reference; the run must still
fail, on the failed part ``dtype``, whatever the registry says about overflow (a generic rule
explaining float16 overflow no longer hides it, as the stale overflow entries once did). Runs the
real engine (``cases.run``) on the installed torch; skipped for the other frameworks.
"""

from __future__ import annotations

import pytest

from cases.run import Run


def _planted_torch():
    import torch

    from adapters.torch_adapter import TorchAdapter

    class Float16InFloat32(TorchAdapter):
        def __init__(self):
            super().__init__()
            self._dtypes = {**self._dtypes, "float16": torch.float32}

    return Float16InFloat32()


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "not-strict"])
def test_float16_computed_and_returned_in_float32_fails_the_ci_run_on_dtype(run, strict):
    if run is None or run.framework != "torch":
        pytest.skip("plants a fault in the torch adapter")
    planted = Run.start(
        _planted_torch(),
        framework="torch",
        profile="ci",
        loss="mse_loss,cross_entropy",
        dtype="float16",
        mode="eager",
        strict=strict,
    )
    results = [planted.run_item(item) for item in planted.items()]
    offered = [r for r in results if r.not_offered is None]
    assert offered and all(r.failure for r in offered)
    for result in offered:
        assert "value float32" in result.failure
        assert "returned for a float16 case" in result.failure
        assert result.record["failing"]
        ordinary = result.record["regimes"]["ordinary"]
        assert ordinary["signatures"].get("dtype|dtype", 0) > 0
