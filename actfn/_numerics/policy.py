"""What the numerics know of the dtype policy (`actfn._wiring` applies the policy itself).

Constants are kept per dtype under `dtype_kind(x)`: "float64", or "float32" for float32 and
the 16-bit floats, which compute in float32.  While an activation is traced for a float16 or
bfloat16 input, `narrow_input()` is True, and the extra-precision float32 paths may take XLA's
cheaper arithmetic: the result is rounded to 8 or 11 bits once, and stays correctly rounded
(held by tests/test_accuracy.py::test_sixteen_bit_inputs_take_the_cheaper_float32_path_and_
stay_correctly_rounded, and the float16/bfloat16 rows of its value tests).
"""

from __future__ import annotations

import contextlib
import contextvars

import jax
import jax.numpy as jnp

LOW_PRECISION = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def dtype_kind(x) -> str:
    """The key of the per-dtype constants: "float64", or "float32" (which the 16-bit dtypes
    compute in)."""
    return "float64" if x.dtype == jnp.float64 else "float32"


_NARROW = contextvars.ContextVar("actfn_narrow_input", default=False)


def narrow_input() -> bool:
    """True while an activation is traced for a float16 or bfloat16 input.

    Such inputs are computed in float32 and rounded once to 8 or 11 bits, so a float32 formula
    a few ulp off is already correctly rounded after it: the extra-precision float32 paths
    (our tanh, gelu's double-word tanh form) may take XLA's cheaper arithmetic instead.
    """
    return _NARROW.get()


@contextlib.contextmanager
def tracing_for(dtype):
    token = _NARROW.set(jnp.dtype(dtype) in LOW_PRECISION)
    try:
        yield
    finally:
        _NARROW.reset(token)


def lookup(table, index):
    """table[index] for an index per element (gelu's and snake's tables), laid out as the index:
    under JAX's explicit sharding a gather must be told its output's sharding (a replicated
    table indexed by a sharded array is otherwise an error)."""
    return jnp.asarray(table).at[index].get(out_sharding=jax.typeof(index).sharding)
