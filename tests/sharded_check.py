"""Run by test_sharding.py in a subprocess with 8 CPU devices (XLA_FLAGS must be set first)."""

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

import actfn
from actfn.__main__ import variants

# float32 rounding: a reduction split across devices sums in another order, a few ulps that
# the squared loss amplifies (up to ~1e-6 relative seen for log_softmax).
RTOL, ATOL = 4e-6, 1e-7


def check(name):
    fn = functools.partial(actfn.spec(name).function, **variants(name)[0])
    rng = np.random.default_rng(0)
    x = rng.normal(scale=3.0, size=(8, 16)).astype(np.float32)
    if name == "log1mexp":
        x = np.abs(x) + 0.1
    mesh = jax.make_mesh((8,), ("d",), axis_types=(jax.sharding.AxisType.Auto,))
    loss = jax.jit(lambda z: jnp.sum(fn(z) ** 2))
    y_ref, g_ref = jax.jit(fn)(x), jax.grad(loss)(x)
    # Shard along the batch axis and along the axis that softmax / glu work on (the last).
    for spec in (P("d", None), P(None, "d")):
        xs = jax.device_put(x, NamedSharding(mesh, spec))
        np.testing.assert_allclose(jax.jit(fn)(xs), y_ref, rtol=RTOL, atol=ATOL, err_msg=name)
        np.testing.assert_allclose(jax.grad(loss)(xs), g_ref, rtol=RTOL, atol=ATOL, err_msg=name)
    if actfn.spec(name).elementwise:
        mapped = jax.shard_map(fn, mesh=mesh, in_specs=P("d", None), out_specs=P("d", None))
        np.testing.assert_array_equal(jax.jit(mapped)(x), y_ref, err_msg=name)


def data_parallel_step():
    mesh = jax.make_mesh((8,), ("d",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(1)
    ws = [jnp.asarray(rng.normal(size=(16, 16)) / 4, jnp.float32) for _ in range(3)]
    x = jnp.asarray(rng.normal(size=(64, 16)), jnp.float32)

    def loss(ws, x):
        h = x
        for w, act in zip(ws, (actfn.gelu, actfn.elu, actfn.silu)):
            h = act(h @ w)
        return jnp.mean(actfn.log_softmax(h)[:, 0])

    step = jax.jit(jax.grad(loss))
    single = step(ws, x)
    replicated = [jax.device_put(w, NamedSharding(mesh, P())) for w in ws]
    sharded = step(replicated, jax.device_put(x, NamedSharding(mesh, P("d", None))))
    for a, b in zip(sharded, single):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


if __name__ == "__main__":
    assert len(jax.devices()) == 8, jax.devices()
    for name in actfn.names():
        check(name)
    data_parallel_step()
    print(f"sharded: {len(actfn.names())} activations and a data-parallel step agree")
    sys.exit(0)
