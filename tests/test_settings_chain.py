"""The hypothesis settings of a parametrised @given test stay one link deep call after call.

Without the restoring hook in ``tests/conftest.py`` each parametrisation run on a worker adds a
link (hypothesis' pytest plugin wraps the previous settings), and past about a thousand the
reference tests failed with RecursionError in CI. Twelve parametrisations over at most two
workers put at least six on one worker, so the second of them would see a longer chain.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def _chain_length(s) -> int:
    n = 0
    while s is not None:
        n += 1
        s = s._fallback
    return n


_DECORATED = settings(max_examples=1, database=None)


@pytest.mark.parametrize("k", range(12))
@_DECORATED
@given(x=st.just(0))
def test_settings_chain_does_not_grow_per_parametrisation(k, x):
    now = test_settings_chain_does_not_grow_per_parametrisation._hypothesis_internal_use_settings
    # the plugin adds exactly one link above the decorated settings for this call
    assert _chain_length(now) <= _chain_length(_DECORATED) + 1
