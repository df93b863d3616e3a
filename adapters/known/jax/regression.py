"""JAX/Optax divergences in the regression family: none but error-only ones (``errors.py``).

optax's huber_loss / log_cosh / squared_error agree with the reference on every valid input
tried, including d = 0 (jnp.abs's gradient there is 1, but huber_loss's min/linear split cancels
it), ±8192 and inf. Their rounding is not ours to register: huber_loss's gradient rounds q·g
against δ·g and log_cosh cancels log 2 at small d, and the tolerance policy counts those terms
(cases/tolerance.py).
"""

from __future__ import annotations

from reference.contract import Divergence

DIVERGENCES: list[Divergence] = []
