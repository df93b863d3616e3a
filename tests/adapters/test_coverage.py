"""The coverage table (adapters/coverage.json) against the installed releases, and the README's
coverage section against the table.

Without a framework (``tox -e tests``): the table is well formed, the README section is what the
generator writes from it, and the checks and the catalogue rules do what they say on made-up
releases. With one (each framework's tox environment, ``LOSSCONF_FRAMEWORK``): the installed
release has no public loss API the table does not account for, the table names none the release
lacks, its mapped rows are what the adapter maps, and CI's profile runs every mapped API; and the
check reports a public function planted into the release's namespace, and one removed from it.
"""

from __future__ import annotations

import types

import pytest

import reference as R
from adapters import coverage as C
from reference.contract import Native, NotOffered

# --- framework-free --------------------------------------------------------------------------


def test_table_is_well_formed():
    assert C.validate(C.load()) == []


def test_table_file_is_as_update_writes_it():
    """A hand edit in another layout would make the next ``update`` rewrite unrelated lines."""
    assert C.TABLE.read_text(encoding="utf-8") == C.dumps(C.load()), (
        "adapters/coverage.json is not in its layout: run `python -m adapters.coverage readme`"
    )


def test_readme_section_is_what_the_generator_writes():
    section = C.readme_section(C.README.read_text(encoding="utf-8"))
    assert section == C.markdown(C.load()), (
        "README.md's coverage section is not what the table gives: run "
        "`python -m adapters.coverage readme`"
    )


FAKE = C.Family(
    "fake.losses", "optax.losses", "jax", "optax", ("optax", "losses"), "functions", "all"
)


def _lines_about(lines: list[str], api: str) -> list[str]:
    return [line for line in lines if line.startswith(f"{api}:")]


def test_unaccounted_api_is_one_line_naming_it_and_what_to_do():
    rows = {"a_loss": {"status": "planned", "note": "n"}}
    found = C.problems(FAKE, ["a_loss", "new_loss"], rows, {}, "9.9")
    assert found == [
        "optax.losses.new_loss: a public loss API of optax 9.9 that the coverage table does not "
        "account for: map it in the jax adapter, or add it to adapters/coverage.json as planned "
        "(with a note) or excluded/helper (with a reason)"
    ]


def test_mapped_but_unlisted_api_is_accounted_for_by_the_adapter_and_reported_as_drift():
    live = {"new_loss": {"mse_loss": "all"}}
    assert C.unaccounted(FAKE, ["new_loss"], {}, live, "9.9") == []
    (line,) = C.drift(FAKE, ["new_loss"], {}, live)
    assert line.startswith("optax.losses.new_loss: the jax adapter runs it now (as mse_loss)")
    assert "python -m adapters.coverage update" in line


def test_lacking_api_is_reported():
    rows = {"gone_loss": {"status": "planned", "note": "n"}}
    (line,) = C.problems(FAKE, [], rows, {}, "9.9")
    assert line == (
        "optax.losses.gone_loss: named in the coverage table but optax 9.9 has no such public "
        "loss API: delete its row in adapters/coverage.json"
    )


@pytest.mark.parametrize(
    ("status", "runs_as", "expect"),
    [
        ("planned", {"mse_loss": "all"}, "the coverage table says planned: run"),
        ("excluded", {"mse_loss": "all"}, "the coverage table says excluded: run"),
        ("mapped", None, "the coverage table says mapped but the jax adapter maps no"),
        ("mapped", {"mse_loss": ["mse_loss[sum]"]}, "in other configurations than"),
        ("mapped", {"mse_loss": "all"}, None),
        ("helper", {"mse_loss": "all"}, None),
    ],
)
def test_drift(status, runs_as, expect):
    rows = {"x": {"status": status, "runs_as": {"mse_loss": "all"}, "note": "n", "reason": "r"}}
    live = {} if runs_as is None else {"x": runs_as}
    found = C.drift(FAKE, ["x"], rows, live)
    if expect is None:
        assert found == []
    else:
        (line,) = found
        assert line.startswith("optax.losses.x: ") and expect in line and "\n" not in line


def test_older_release_may_lack_newer_apis():
    assert C.older_than_table("2.5.1", "2.13.0+cpu")
    assert not C.older_than_table("2.13.0+cpu", "2.13.0+cpu")
    assert not C.older_than_table("2.14.0", "2.13.0+cpu")
    assert not C.older_than_table("2.5.1", "")


def _module(**members):
    module = types.ModuleType("fake")
    for name, value in members.items():
        setattr(module, name, value)
    return module


def test_catalogue_rules():
    class Loss:
        pass

    class Hinge(Loss):
        pass

    def f(*args):
        return 0.0

    module = _module(
        Loss=Loss,
        Hinge=Hinge,
        Other=type("Other", (), {}),
        hinge_loss=f,
        cross_entropy_with_logits=f,
        kl_div=f,
        max_pool=f,
        _private_loss=f,
        submodule_loss=types.ModuleType("sub"),
    )
    rule = {s: C.Family("k", "optax.losses", "jax", "optax", (), s, "") for s in C.SELECTIONS}
    assert C.catalogue(rule["loss-named"], module) == [
        "cross_entropy_with_logits",
        "hinge_loss",
        "kl_div",
    ]
    assert C.catalogue(rule["functions"], module) == [
        "cross_entropy_with_logits",
        "hinge_loss",
        "kl_div",
        "max_pool",
    ]
    assert C.catalogue(rule["loss-classes"], module) == ["Hinge", "Loss"]


@pytest.mark.parametrize(
    ("call", "apis"),
    [
        ("jnp.mean(optax.losses.huber_loss(input, target, delta=1.0))", {"huber_loss"}),
        (
            "keras.ops.sum(keras.losses.mean_squared_error(target, input))",
            {"mean_squared_error"},
        ),
        (
            "tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=t))",
            {"sigmoid_cross_entropy_with_logits"},
        ),
        ("my.optax.losses.huber_loss(x)", set()),  # another package's namespace
        ("optax.smooth_labels(target, 0.1)", set()),
    ],
)
def test_called_apis(call, apis):
    assert {name for _, name in C.called_apis(call)} == apis


class Fake:
    """An adapter mapping mse_loss to optax.losses.squared_error in every configuration and
    huber_loss to optax.losses.huber_loss at reduction sum only, with an alternative form naming
    optax.losses.l2_loss for huber_loss at sum; everything else not offered."""

    name = "jax"

    def mapping(self, loss, config):
        if loss == "mse_loss":
            return Native("jnp.mean(optax.losses.squared_error(input, target))")
        if loss == "huber_loss" and config["reduction"] == "sum":
            return Native("jnp.sum(optax.losses.huber_loss(input, target))")
        return NotOffered("no")

    def alternatives(self, loss, config):
        if loss == "huber_loss" and config["reduction"] == "sum":
            return {"optax.losses.l2_loss": Native("jnp.sum(optax.losses.l2_loss(x))")}
        return {}


def test_live_mapping_reads_the_calls_of_every_configuration():
    catalogues = {FAKE.key: ["squared_error", "huber_loss", "l2_loss", "unused_loss"]}
    live = C.live_mapping(Fake(), (FAKE,), catalogues)[FAKE.key]
    huber = R.get("huber_loss")
    at_sum = sorted(R.config_id(huber, c) for c in R.all_configs(huber) if c["reduction"] == "sum")
    assert live == {
        "squared_error": {"mse_loss": "all"},
        "huber_loss": {"huber_loss": at_sum},
        "l2_loss": {"huber_loss": at_sum},
    }


def test_update_records_the_adapter_s_mapping(monkeypatch):
    monkeypatch.setattr(C, "families_of", lambda name: (FAKE,))
    monkeypatch.setattr(C, "catalogue", lambda family: ["squared_error", "huber_loss", "gone"])
    monkeypatch.setattr(C, "release", lambda family: "9.9")
    rows = {
        "squared_error": {"status": "planned", "note": "n"},
        "gone": {"status": "mapped", "runs_as": {"mse_loss": "all"}},
        "huber_loss": {"status": "helper", "reason": "r"},
    }
    table = {"format": C.FORMAT, "families": {FAKE.key: {"release": "1.0", "apis": rows}}}
    new, changes = C.update(Fake(), table)
    assert new["families"][FAKE.key] == {
        "release": "9.9",
        "apis": {
            "squared_error": {"status": "mapped", "runs_as": {"mse_loss": "all"}},
            "gone": {"status": "mapped", "runs_as": {"mse_loss": "all"}},  # for a person
            "huber_loss": {"status": "helper", "reason": "r"},  # a helper stays one
        },
    }
    assert changes == [
        "fake.losses: release 1.0 → 9.9",
        "optax.losses.squared_error: planned → mapped as mse_loss",
    ]
    assert table["families"][FAKE.key]["apis"]["squared_error"]["status"] == "planned"
    # what update cannot decide, check names
    (line,) = C.drift(FAKE, ["squared_error", "huber_loss", "gone"], rows, {})
    assert line.startswith("optax.losses.gone: the coverage table says mapped")


def test_markdown_counts_and_rounds():
    rows = {
        "a": {"status": "mapped", "runs_as": {"mse_loss": "all"}},
        "b": {"status": "mapped", "runs_as": {"cross_entropy": ["cross_entropy[sum]"]}},
        "c": {"status": "planned", "note": "later | soon"},
        "d": {"status": "excluded", "reason": "why"},
        "e": {"status": "helper", "reason": "not a loss"},
    }
    assert C.counts(rows) == {
        "mapped": 2,
        "planned": 1,
        "excluded": 1,
        "helper": 1,
        "losses": 4,
    }
    assert C._percent(2, 4) == "50 %"
    assert C._percent(21, 22) == "95 %"
    assert C._percent(5, 9) == "56 %"
    assert C._percent(1, 8) == "13 %"  # 12.5 rounds half up
    table = {
        "format": C.FORMAT,
        "families": {f.key: {"release": "1.0", "apis": rows} for f in C.FAMILIES},
    }
    text = C.markdown(table)
    n = len(C.FAMILIES)
    assert f"| **all** | | {4 * n} | {2 * n} | {n} | {n} | 50 % | {n} |" in text
    assert "| `c` | planned | later \\| soon |" in text
    configs = sum(1 for _ in R.all_configs(R.get("cross_entropy")))
    assert f"`cross_entropy` (1 of {configs} configurations)" in text


# --- against the installed release (LOSSCONF_FRAMEWORK) ----------------------------------------


@pytest.fixture(scope="module")
def table():
    return C.load()


@pytest.fixture(scope="module")
def live(adapter):
    return C.live_mapping(adapter)


def _families(adapter):
    families = C.families_of(adapter.name)
    assert families, f"no API family in adapters/coverage.py names the {adapter.name} adapter"
    return families


def test_every_public_loss_api_is_accounted_for(adapter, table, live):
    found = []
    for family in _families(adapter):
        rows = table["families"][family.key]["apis"]
        apis = C.catalogue(family)
        found += C.unaccounted(family, apis, rows, live[family.key], C.release(family))
    assert not found, "\n".join(found)


def test_the_table_names_no_api_the_release_lacks(adapter, table):
    found, older = [], []
    for family in _families(adapter):
        entry = table["families"][family.key]
        version = C.release(family)
        lines = C.lacking(family, C.catalogue(family), entry["apis"], version)
        (older if C.older_than_table(version, entry["release"]) else found).extend(lines)
    assert not found, "\n".join(found)
    if older:
        pytest.skip("a release older than the table's lacks newer APIs: " + "; ".join(older))


def test_mapped_rows_are_what_the_adapter_maps(adapter, table, live):
    """On the release the table was recorded on; another one may offer other configurations
    (the jax adapter checks optax's signatures), which its conformance run reports."""
    found, other = [], []
    for family in _families(adapter):
        entry = table["families"][family.key]
        lines = C.drift(family, C.catalogue(family), entry["apis"], live[family.key])
        (found if C.release(family) == entry["release"] else other).extend(lines)
    assert not found, "\n".join(found)
    if other:
        pytest.skip("the table was recorded on another release: " + "; ".join(other))


def test_ci_runs_every_mapped_api(adapter, live):
    """A mapped API is conformance-tested in CI: some configuration it runs in is one the ci
    profile selects (pairwise selection could leave out one that only a triple of options
    reaches)."""
    from cases import profiles, selection

    ci = profiles.get("ci")
    chosen = {
        R.config_id(spec, c) for spec in R.REGISTRY.values() for c in selection.configs(spec, ci)
    }
    found = []
    for family in _families(adapter):
        for name, runs_as in live[family.key].items():
            ids = set()
            for loss, configs in runs_as.items():
                every = [R.config_id(R.get(loss), c) for c in R.all_configs(R.get(loss))]
                ids |= set(every if configs == "all" else configs)
            if not ids & chosen:
                found.append(
                    f"{family.qualified(name)}: mapped only in configurations the ci profile does "
                    f"not select ({', '.join(sorted(ids))}): CI never runs it"
                )
    assert not found, "\n".join(found)


def _planted(family, module):
    """A made-up public API the family's rule picks, as a new release could add one."""
    if family.select == "loss-classes":
        return "PlantedProbeLoss", type("PlantedProbeLoss", (module.Loss,), {})

    def planted_probe_loss(input, target):
        return input

    return "planted_probe_loss", planted_probe_loss


def _message_lines(error: AssertionError) -> list[str]:
    """The lines of a failed test's message (pytest appends the assert statement and indents
    continuation lines)."""
    return [line.strip() for line in str(error).split("\nassert")[0].splitlines()]


def test_check_reports_a_new_public_api(adapter, table, live, monkeypatch):
    """Meta-test: a function (or Loss class) planted into the namespace of the installed release
    fails the test above with one line naming it; a non-loss name planted into a namespace that
    also holds other things (torch.nn.functional, tf.nn) does not."""
    expected = []
    for family in _families(adapter):
        module = C.namespace_module(family)
        name, planted = _planted(family, module)
        monkeypatch.setattr(module, name, planted, raising=False)
        if family.select == "loss-named":
            monkeypatch.setattr(module, "planted_max_pool", lambda x: x, raising=False)
        expected.append(f"{family.qualified(name)}: a public loss API of {family.package} ")
    with pytest.raises(AssertionError) as failed:
        test_every_public_loss_api_is_accounted_for(adapter, table, live)
    lines = _message_lines(failed.value)
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start) and "adapters/coverage.json" in line, line


def test_check_reports_an_api_the_release_drops(adapter, table, monkeypatch):
    """Meta-test: an API the table names, removed from the installed namespace, fails the test
    above with one line naming it."""
    expected = []
    for family in _families(adapter):
        module = C.namespace_module(family)
        name = sorted(table["families"][family.key]["apis"])[0]
        monkeypatch.delattr(module, name)
        expected.append(
            f"{family.qualified(name)}: named in the coverage table but {family.package} "
            f"{C.release(family)} has no such public loss API: delete its row in "
            "adapters/coverage.json"
        )
    with pytest.raises(AssertionError) as failed:
        test_the_table_names_no_api_the_release_lacks(adapter, table)
    assert _message_lines(failed.value) == expected
