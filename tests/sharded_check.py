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


def meshes():
    """JAX's default mesh (Explicit axes since jax 0.9) and one with Auto axes."""
    return {
        "default": jax.make_mesh((8,), ("d",)),
        "auto": jax.make_mesh((8,), ("d",), axis_types=(jax.sharding.AxisType.Auto,)),
    }


def check(name, mesh_name, mesh):
    fn = functools.partial(actfn.spec(name).function, **variants(name)[0])
    rng = np.random.default_rng(0)
    x = rng.normal(scale=3.0, size=(8, 16)).astype(np.float32)
    if name == "log1mexp":
        x = np.abs(x) + 0.1
    loss = jax.jit(lambda z: jnp.sum(fn(z) ** 2))
    y_ref, g_ref = jax.jit(fn)(x), jax.grad(loss)(x)
    where = f"{name} on the {mesh_name} mesh"
    # Shard along the batch axis and along the axis that softmax / glu work on (the last).
    for spec in (P("d", None), P(None, "d")):
        with jax.set_mesh(mesh):
            xs = jax.device_put(x, NamedSharding(mesh, spec))
            y, g = jax.jit(fn)(xs), jax.grad(loss)(xs)
            # reshard, the explicit-sharding way to move an array between layouts
            moved = jax.jit(lambda z: fn(jax.sharding.reshard(z, P(None, None))))(xs)
        np.testing.assert_allclose(y, y_ref, rtol=RTOL, atol=ATOL, err_msg=f"{where} {spec}")
        np.testing.assert_allclose(g, g_ref, rtol=RTOL, atol=ATOL, err_msg=f"{where} {spec}")
        np.testing.assert_allclose(moved, y_ref, rtol=RTOL, atol=ATOL, err_msg=f"{where} {spec}")
    if actfn.spec(name).elementwise:
        mapped = jax.shard_map(fn, mesh=mesh, in_specs=P("d", None), out_specs=P("d", None))
        with jax.set_mesh(mesh):
            xs = jax.device_put(x, NamedSharding(mesh, P("d", None)))
            np.testing.assert_array_equal(jax.jit(mapped)(xs), y_ref, err_msg=where)


def data_parallel_step(mesh):
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
    with jax.set_mesh(mesh):
        replicated = [jax.device_put(w, NamedSharding(mesh, P())) for w in ws]
        sharded = step(replicated, jax.device_put(x, NamedSharding(mesh, P("d", None))))
    for a, b in zip(sharded, single):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


if __name__ == "__main__":
    assert len(jax.devices()) == 8, jax.devices()
    failures = []
    for mesh_name, mesh in meshes().items():
        for name in actfn.names():
            try:
                check(name, mesh_name, mesh)
            except Exception as err:  # every activation is tried; all failures are reported
                failures.append(f"{name} on the {mesh_name} mesh: {type(err).__name__}: {err}")
        data_parallel_step(mesh)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"sharded: {len(actfn.names())} activations and a data-parallel step agree")
    sys.exit(0)
