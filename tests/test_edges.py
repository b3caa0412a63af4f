"""The edges outside test suites found: empty arrays, a parameter's scaling overflowing at the
largest floats, and the derivative next to a kink decided on a rounded intermediate."""

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
from conftest import all_variants, bound, variant_id

import actfn
from actfn._activations import gated

GATED = {n for n in actfn.names() if hasattr(gated, n)}


@pytest.mark.parametrize("shape", [(0,), (0, 4), (4, 0), (2, 0, 4)])
@pytest.mark.parametrize("item", all_variants(), ids=variant_id)
def test_zero_size_arrays_along_any_axis(item, shape):
    name, params = item
    fn = bound(name, params)
    expected = list(shape)
    if name in GATED:  # the gated units halve their axis
        axis = params.get("axis", -1)
        expected[axis] //= 2
    for dtype in (jnp.float32, jnp.bfloat16):
        x = jnp.zeros(shape, dtype)
        y, vjp = jax.vjp(fn, x)
        (dx,) = vjp(jnp.ones_like(y))
        assert (y.shape, y.dtype) == (tuple(expected), x.dtype)
        assert (dx.shape, dx.dtype) == (x.shape, x.dtype)


# --- a parameter scaling x, at the largest finite floats -------------------------------------

mp.mp.dps = 50
TRUTH = {
    "softplus": (lambda x, beta: mp.log1p(mp.exp(beta * x)) / beta, {"beta": (2.0, 10.0)}),
    "silu": (lambda x, beta: x / (1 + mp.exp(-beta * x)), {"beta": (2.0, 10.0)}),
    "celu": (
        lambda x, alpha: max(0, x) + min(0, alpha * mp.expm1(x / alpha)),
        {"alpha": (0.5, 2.0)},
    ),
    "squareplus": (lambda x, b: (x + mp.sqrt(x * x + b)) / 2, {"b": (1.0, 4.0)}),
    "quick_gelu": (lambda x: x / (1 + mp.exp(-1.702 * x)), {}),
}


def _largest(dtype):
    big = float(jnp.finfo(dtype).max)
    return np.array([-big, -big / 2, -big / 3, big / 3, big / 2, big])


def _close(got, truth, dtype):
    """Within 4 ulp of the truth, or within the smallest normal of 0 (an underflowing truth)."""
    info = jnp.finfo(dtype)
    t = float(truth)
    if abs(t) > float(info.max):
        return got == np.sign(t) * np.inf
    return abs(got - t) <= 4 * float(info.eps) * abs(t) + float(info.tiny)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(TRUTH))
def test_parameter_scaling_x_does_not_overflow_at_the_largest_floats(name, dtype):
    truth, grid = TRUTH[name]
    ((pname, values),) = grid.items() or [(None, (None,))]
    fn = actfn.spec(name).function
    x = _largest(dtype)
    with jax.enable_x64(dtype == "float64"):
        for value in values:
            ps = () if pname is None else (jnp.asarray(value, dtype),)
            xs = jnp.asarray(x, dtype)
            y = np.asarray(fn(xs, *ps), np.float64)
            grads = jax.vmap(
                jax.grad(fn, argnums=tuple(range(1 + len(ps)))), (0,) + (None,) * len(ps)
            )(xs, *ps)
            grads = [np.asarray(g, np.float64) for g in grads]
            for i, xi in enumerate(np.asarray(xs, np.float64)):
                args = [mp.mpf(xi), *(mp.mpf(float(p)) for p in ps)]
                assert _close(y[i], truth(*args), dtype), (value, xi, y[i])
                for k, g in enumerate(grads):

                    def along(z, k=k, args=args):
                        return truth(*args[:k], z, *args[k + 1 :])

                    d = mp.diff(along, args[k], h=mp.mpf(2) ** -60 * max(1, abs(args[k])))
                    assert _close(g[i], d, dtype), (value, xi, k, g[i], d)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["snake", "snake_beta"])
def test_snake_is_x_where_the_frequency_times_x_overflows(name, dtype):
    fn = actfn.spec(name).function
    with jax.enable_x64(dtype == "float64"):
        x = jnp.asarray(_largest(dtype), dtype)
        for a in (2.0, 10.0):
            params = (a,) if name == "snake" else (a, a)
            np.testing.assert_array_equal(fn(x, *params), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "name", [n for n in actfn.names() if actfn.spec(n).elementwise and actfn.spec(n).params]
)
def test_no_nan_at_the_largest_floats_with_a_parameter_twice_its_default(name, dtype):
    # Where a x overflows, snake's derivatives need 2ax mod 2 pi beyond the float range (an open
    # limit, docs/numerics.md): left out there.
    spec = actfn.spec(name)
    base = spec.default_values
    base.update(dict(spec.example))
    doubled = {
        k: 2.0 * v if v else 1.0 for k, v in base.items() if isinstance(v, float) and np.isfinite(v)
    }
    keys = list(doubled)
    with jax.enable_x64(dtype == "float64"):
        x = jnp.asarray(_largest(dtype), dtype)
        ps = [jnp.asarray(v, dtype) for v in doubled.values()]

        def f(x, *ps):
            return spec.function(x, **dict(zip(keys, ps)))

        y = f(x, *ps)
        grads = jax.vmap(jax.grad(f, argnums=tuple(range(1 + len(ps)))), (0,) + (None,) * len(ps))(
            x, *ps
        )
    assert not np.any(np.isnan(np.asarray(y, np.float64)))
    if name in ("snake", "snake_beta"):
        return
    for key, g in zip(["x", *keys], grads):
        assert not np.any(np.isnan(np.asarray(g, np.float64))), (key, g)


# --- next to every kink ----------------------------------------------------------------------


def _kinked():
    # rational's kinks are where its denominator's sum crosses 0, decided on that sum.
    return [
        (n, p)
        for n, p in all_variants()
        if actfn.spec(n).elementwise and actfn.spec(n).kinks and n != "rational"
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("item", _kinked(), ids=variant_id)
def test_the_floats_next_to_every_kink_take_their_own_side(item, dtype):
    name, params = item
    spec = actfn.spec(name)
    values = spec.default_values
    values.update(params)
    fn = bound(name, params)
    kind = np.dtype(dtype)
    with jax.enable_x64(dtype == "float64"):
        slope = jax.jit(jax.vmap(jax.grad(fn)))
        kinks = [k.at(values) for k in spec.kinks]
        kinks = [a for a in kinks if np.isfinite(a)]
        for a in kinks:
            others = [abs(b - a) for b in kinks if b != a]
            step = min([1e-4 * max(1.0, abs(a)), *[d / 4 for d in others]])
            at = kind.type(a)
            near = []
            up = down = at
            for _ in range(3):
                up, down = (
                    np.nextafter(up, kind.type(np.inf)),
                    np.nextafter(down, kind.type(-np.inf)),
                )
                near += [up, down]
            near = np.array(near, kind)
            # XLA flushes subnormals to 0 on CPU: such an x is the kink itself there.
            near = near[(np.abs(near) >= np.finfo(kind).tiny) & (near != a)]
            side = np.where(near > a, a + step, a - step).astype(kind)
            got = np.asarray(slope(jnp.asarray(near)), np.float64)
            want = np.asarray(slope(jnp.asarray(side)), np.float64)
            assert np.allclose(got, want, rtol=1e-2, atol=1e-6), (a, near, got, want)
