"""The contract for several native forms of one configuration, and for an adapter's run identity
(issue 12), driven by a framework-free adapter whose results are the reference's own."""

from __future__ import annotations

import numpy as np

import reference as R
from cases.run import Run
from reference.contract import FrameworkError, Native, Outcome
from reports.schema import load


class TwoApis:
    """Offers mse_loss as ``fake.mse`` (the mapping) and ``fake.mse_function`` (an alternative,
    offered at reduction none only); the alternative's value is off by one, so its records are
    told apart from the mapping's by their verdicts."""

    name = "twoapis"
    modes = ("eager",)
    dtypes = ("float64",)

    def __init__(self):
        self.apis_run: list[str | None] = []

    def version(self) -> str:
        return "1.0"

    def versions(self) -> dict[str, str]:
        return {"twoapis": "1.0", "backend": "b 2.0"}

    def identity(self) -> dict[str, str]:
        return {"backend": "b", "backend_version": "2.0"}

    def devices(self) -> list[str]:
        return ["cpu"]

    def compiles_per_shape(self, mode: str) -> bool:
        return False

    def kernel_asserts(self, device: str) -> str | None:
        return None

    def divergences(self):
        return []

    def mapping(self, loss, config):
        return Native("fake.mse(input, target)")

    def alternatives(self, loss, config):
        if config["reduction"] != "none":
            return {}
        return {"fake.mse_function": Native("fake.mse_function(input, target)")}

    def run(self, case, api=None) -> Outcome:
        self.apis_run.append(api)
        try:
            value, grads = R.value_and_vjp(
                case.loss, case.rounded(), case.params, case.rounded_cotangent()
            )
        except R.InvalidInput as exc:
            return Outcome(error=FrameworkError.of(exc))
        shift = 1.0 if api else 0.0
        return Outcome(value=np.asarray(value, np.float64) + shift, grads=dict(grads))

    def snippet(self, case, api=None) -> str:
        return f"value, grads = None, {{}}  # {api}\n"


def test_each_alternative_is_its_own_item_recorded_with_its_api(tmp_path):
    adapter = TwoApis()
    run = Run.start(adapter, profile="ci", loss="mse_loss")
    path = run.open_results(str(tmp_path), corpus=None, command="test")
    items = run.items()
    alternative = [item for item in items if item.api]
    assert alternative and all(item.config["reduction"] == "none" for item in alternative)
    assert all(item.id.endswith("-mse_function") for item in alternative)
    assert len({item.id for item in items}) == len(items)
    results = [run.run_item(item) for item in items]
    run.finish(items=len(items))

    for item, result in zip(items, results, strict=True):
        assert result.record["api"] == item.api
        assert result.record["verdict"] == ("mismatch" if item.api else "match")
    assert {api for api in adapter.apis_run} == {None, "fake.mse_function"}
    written = load(path)
    assert len(written.records) == len(items)  # same configuration, two records
    rows = {(row["config_id"], row.get("api")): row for row in written.mapping}
    assert any(api == "fake.mse_function" for _, api in rows)
    assert rows[next(k for k in rows if k[1])]["native"] == "fake.mse_function(input, target)"


def test_the_identity_names_the_results_file_and_enters_the_header(tmp_path):
    run = Run.start(TwoApis(), profile="ci", loss="mse_loss")
    path = run.open_results(str(tmp_path), corpus=None, command="test")
    assert path.name == "twoapis-1.0-b-2.0-cpu.json"
    run.finish(items=0)
    header = load(path).run
    assert (header["backend"], header["backend_version"]) == ("b", "2.0")
