"""The deterministic half of the benchmark: XLA's compiled memory and bytes, saved residuals.

Timing stays in `python -m actfn bench`; these figures do not depend on the machine's load.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import actfn
from actfn import _bench

PAIRS = _bench.counterparts()
# Activations whose derivative is a function of the output, where jax.nn's autodiff keeps more
# (log1mexp keeps x on purpose: its derivative from y loses |log x| eps near 0).
OUTPUT_SAVERS = [
    "elu",
    "selu",
    "celu",
    "softplus",
    "log_sigmoid",
    "soft_sign",
    "squareplus",
    "sparse_plus",
]


@functools.cache
def memory(name):
    ours, theirs = PAIRS[name]
    return _bench.training_memory(ours), _bench.training_memory(theirs)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_training_memory_is_never_more_than_jax_nn(name):
    ours, theirs = memory(name)
    assert ours <= theirs, f"{ours / 2**20:.1f} MiB against {theirs / 2**20:.1f} MiB"


@pytest.mark.parametrize("name", OUTPUT_SAVERS)
def test_output_saving_activations_use_a_quarter_of_jax_nn_memory(name):
    ours, theirs = memory(name)
    assert ours <= theirs / 4, f"{ours / 2**20:.1f} MiB against {theirs / 2**20:.1f} MiB"


def test_mish_uses_at_most_seventy_percent_of_jax_nn_memory():
    ours, theirs = memory("mish")
    assert ours <= 0.7 * theirs


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_one_saved_array_per_activation(name):
    ours, _ = PAIRS[name]
    expected = 0 if name == "identity" else 1
    assert _bench.residual_arrays(ours) == expected
    assert _bench.residual_bytes_per_element(ours) == 4 * expected


def test_celu_keeps_x_instead_of_y_only_while_alpha_is_differentiated():
    # df/dalpha from y loses up to |x| eps / 4; a fixed alpha keeps the memory of y.
    x = jnp.linspace(-20.0, 3.0, 4096, dtype=jnp.float32)

    def kept(vjp):
        return [leaf for leaf in jax.tree_util.tree_leaves(vjp) if np.size(leaf) == x.size]

    y, held = jax.vjp(actfn.celu, x)
    (saved,) = kept(held)
    np.testing.assert_array_equal(saved, y)
    for moving in (
        jax.vjp(lambda a: actfn.celu(x, a), jnp.float32(1.0))[1],
        jax.vjp(actfn.celu, x, jnp.float32(1.0))[1],
    ):
        (saved,) = kept(moving)
        np.testing.assert_array_equal(saved, x)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_bytes_moved_is_within_a_quarter_of_the_floor(name):
    ours, theirs = PAIRS[name]
    moved = _bench.bytes_moved_per_element(ours)
    assert moved <= 1.25 * _bench.FLOOR_BYTES_PER_ELEMENT
    assert moved <= _bench.bytes_moved_per_element(theirs)


def test_interleaved_timing_lets_each_side_go_first_half_the_time():
    log = []
    a, b = (lambda: log.append("a")), (lambda: log.append("b"))
    _bench._interleaved(a, b, (), repeats=4)
    samples = log[4:]  # after four single calls that size the batches
    calls = len(samples) // 8
    assert calls >= 1 and len(samples) == 8 * calls
    firsts = [samples[i * calls] for i in range(8)]
    assert all(len(set(samples[i * calls : (i + 1) * calls])) == 1 for i in range(8))
    assert firsts == ["a", "b", "b", "a", "a", "b", "b", "a"]
