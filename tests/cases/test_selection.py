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
