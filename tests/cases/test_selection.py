"""The ci profile's configuration subset: pairwise covering plus the required configurations."""

from __future__ import annotations

import pytest

import reference as R
from cases import profiles, selection

CI = profiles.get("ci")


@pytest.mark.parametrize("name", R.names())
def test_required_configurations_only_add_to_the_pairwise_subset(name):
    spec = R.get(name)
    every = list(R.all_configs(spec))
    pairwise, chosen = selection.pairwise(every), selection.configs(spec, CI)
    assert all(c in chosen for c in pairwise)
    assert chosen == [c for c in every if c in chosen], "kept in all_configs order"
    for wanted in selection.REQUIRED.get(name, ()):
        assert any(all(c[k] == v for k, v in wanted.items()) for c in chosen), wanted


def test_poisson_rate_input_unreduced_is_selected_though_pairwise_leaves_it_out():
    spec = R.get("poisson_nll_loss")
    triple = {"log_input": False, "full": False, "reduction": "none"}
    every = list(R.all_configs(spec))

    def has(configs):
        return any(all(c[k] == v for k, v in triple.items()) for c in configs)

    assert not has(selection.pairwise(every))  # why REQUIRED names it
    assert has(selection.configs(spec, CI))


# --- dtypes and modes: the ci profile's alternation -------------------------------------------

DTYPES, MODES = 4, 2


def _chosen(policy, variants, modes=MODES):
    return {
        (v, d, m)
        for v in range(variants)
        for d in range(DTYPES)
        for m in range(modes)
        if selection.runs_in_mode(policy, v, variants, d, m, modes)
    }


@pytest.mark.parametrize("variants", [2, 3, 5, 8])
def test_alternate_runs_each_form_at_every_dtype_in_exactly_one_mode(variants):
    chosen = _chosen("alternate", variants)
    for v in range(variants):
        for d in range(DTYPES):
            assert sum((v, d, m) in chosen for m in range(MODES)) == 1


@pytest.mark.parametrize("variants", [2, 3, 5, 8])
def test_alternate_still_runs_every_dtype_in_every_mode_and_every_form_in_every_mode(variants):
    chosen = _chosen("alternate", variants)
    assert {(d, m) for _, d, m in chosen} == {(d, m) for d in range(DTYPES) for m in range(MODES)}
    assert {(v, m) for v, _, m in chosen} == {(v, m) for v in range(variants) for m in range(MODES)}
    assert len(chosen) == variants * DTYPES  # half of the full product


def test_alternate_runs_everything_where_it_could_not_cover_every_dtype_and_mode():
    assert len(_chosen("alternate", 1)) == DTYPES * MODES  # one form: both modes at every dtype
    assert len(_chosen("alternate", 4, modes=1)) == 4 * DTYPES  # a framework of one mode
    not_offered = [
        selection.runs_in_mode("alternate", None, 4, d, m, 2) for d in range(4) for m in (0, 1)
    ]
    assert all(not_offered)  # free items (they record why) keep every cell of the matrix


def test_other_profiles_run_every_dtype_in_every_mode():
    assert len(_chosen("all", 5)) == 5 * DTYPES * MODES
    assert profiles.get("default").dtype_modes == profiles.get("thorough").dtype_modes == "all"
    assert CI.dtype_modes == "alternate"


def test_an_unknown_policy_is_refused_by_name():
    with pytest.raises(ValueError, match="'sometimes'"):
        selection.runs_in_mode("sometimes", 0, 2, 0, 0, 2)
