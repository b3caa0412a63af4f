"""Each backward rule's residual carries one name, for `jax.checkpoint` policies."""

import contextlib
import io

import jax
import jax.numpy as jnp
import pytest
from conftest import all_variants, bound, variant_id
from jax.ad_checkpoint import checkpoint_policies as policies

from actfn._wiring import RESIDUAL_NAME


def _saved(fn, policy):
    def loss(w, x):
        return jnp.sum(fn(x @ w) ** 2)

    w, x = jnp.full((8, 8), 0.1), jnp.linspace(-2.0, 2.0, 32).reshape(4, 8) + 0.5
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        jax.ad_checkpoint.print_saved_residuals(jax.checkpoint(loss, policy=policy), w, x)
    return [line for line in buffer.getvalue().splitlines() if "from the argument" not in line]


# identity keeps nothing; the gated units halve the axis the square layer needs.
NAMED = [v for v in all_variants() if v[0] not in ("identity", "glu", "swiglu", "geglu", "reglu")]


@pytest.mark.parametrize("item", NAMED, ids=variant_id)
def test_a_checkpoint_policy_keeps_or_drops_the_named_residual(item):
    fn = bound(*item)
    kept = _saved(fn, policies.save_only_these_names(RESIDUAL_NAME))
    assert len(kept) >= 1, kept
    assert _saved(fn, policies.save_only_these_names("something_else")) == []
    assert _saved(fn, policies.nothing_saveable) == []
