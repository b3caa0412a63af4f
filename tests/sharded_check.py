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


def _setup(name):
    fn = functools.partial(actfn.spec(name).function, **variants(name)[0])
    x = np.random.default_rng(0).normal(scale=3.0, size=(8, 16)).astype(np.float32)
    return fn, (np.abs(x) + 0.1 if name == "log1mexp" else x)


def check(names, mesh_name, mesh):
    """Every activation of `names`, value and gradient, in one compiled program per layout
    (one per activation would be hundreds of compilations on 8 simulated devices)."""
    fns, xs = {}, {}
    for name in names:
        fns[name], xs[name] = _setup(name)

    def values_and_grads(arrays):
        return {
            n: (fns[n](z), jax.grad(lambda z, n=n: jnp.sum(fns[n](z) ** 2))(z))
            for n, z in arrays.items()
        }

    def resharded(arrays):
        # reshard, the explicit-sharding way to move an array between layouts
        return {n: fns[n](jax.sharding.reshard(z, P(None, None))) for n, z in arrays.items()}

    reference = jax.jit(values_and_grads)(xs)
    # Shard along the batch axis and along the axis that softmax / glu work on (the last).
    for spec in (P("d", None), P(None, "d")):
        with jax.set_mesh(mesh):
            placed = {n: jax.device_put(x, NamedSharding(mesh, spec)) for n, x in xs.items()}
            got = jax.jit(values_and_grads)(placed)
            moved = jax.jit(resharded)(placed)
        for n in names:
            where = f"{n} on the {mesh_name} mesh {spec}"
            (y_ref, g_ref), (y, g) = reference[n], got[n]
            np.testing.assert_allclose(y, y_ref, rtol=RTOL, atol=ATOL, err_msg=where)
            np.testing.assert_allclose(g, g_ref, rtol=RTOL, atol=ATOL, err_msg=where)
            np.testing.assert_allclose(moved[n], y_ref, rtol=RTOL, atol=ATOL, err_msg=where)
    elementwise = [n for n in names if actfn.spec(n).elementwise]

    def mapped(arrays):
        return {
            n: jax.shard_map(fns[n], mesh=mesh, in_specs=P("d", None), out_specs=P("d", None))(
                arrays[n]
            )
            for n in elementwise
        }

    with jax.set_mesh(mesh):
        placed = {n: jax.device_put(xs[n], NamedSharding(mesh, P("d", None))) for n in elementwise}
        got = jax.jit(mapped)(placed)
    for n in elementwise:
        np.testing.assert_array_equal(got[n], reference[n][0], err_msg=f"{n} under shard_map")


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
        try:
            check(actfn.names(), mesh_name, mesh)
        except Exception:  # noqa: BLE001 - then one at a time, to report every one that fails
            for name in actfn.names():
                try:
                    check([name], mesh_name, mesh)
                except Exception as err:  # noqa: BLE001
                    failures.append(f"{name} on the {mesh_name} mesh: {type(err).__name__}: {err}")
        data_parallel_step(mesh)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"sharded: {len(actfn.names())} activations and a data-parallel step agree")
    sys.exit(0)
