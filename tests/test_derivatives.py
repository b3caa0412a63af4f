"""The common suite: every activation in the registry, every parameter set, float32 and float64.

Each property is its own test, read from one `actfn.verify` run per activation and dtype; the
oracles (float64 jax.grad of the plain reference, Richardson finite differences of the function
itself, and the exact kink values) are described in `actfn/_verify/__init__.py`.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import all_variants, bound, report_for, variant_id

import actfn

VARIANTS = all_variants()
DTYPES = ["float32", "float64"]


def checks(item, dtype, *names):
    name, params = item
    report = report_for(name, tuple(params.items()), dtype)
    found = [c for c in report.checks if c.name.startswith(names)]
    return found


def assert_checks(found, require=True):
    if require:
        assert found, "no such check ran"
    failed = [c.message("") for c in found if not c.passed]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_value_matches_reference(item, dtype):
    assert_checks(checks(item, dtype, "value vs reference"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_derivative_matches_reference_grad(item, dtype):
    assert_checks(checks(item, dtype, "grad vs reference", "grad[", "vjp vs reference"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_derivative_matches_finite_differences(item, dtype):
    found = checks(item, dtype, "grad vs finite differences", "vjp vs finite differences")
    found += [c for c in checks(item, dtype, "grad[") if "finite" in c.name]
    assert_checks(found)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_reference_matches_finite_differences(item, dtype):
    assert_checks(checks(item, dtype, "reference vs finite differences"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_second_derivative(item, dtype):
    assert_checks(checks(item, dtype, "second order"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_kinks_exact_and_none_undeclared(item, dtype):
    name, _ = item
    assert_checks(checks(item, dtype, "kinks"), require=actfn.spec(name).elementwise)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_backward_rule_structure(item, dtype):
    assert_checks(
        checks(
            item,
            dtype,
            "dtype and shape",
            "zero cotangent",
            "linear in",
            "deterministic",
            "gradient finite",
        )
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_value_and_grad_value_is_the_call(item, dtype):
    assert_checks(checks(item, dtype, "value_and_grad value equals the call"))


def _input(name, shape=(4, 6), dtype=jnp.float32):
    x = np.random.default_rng(0).normal(scale=3.0, size=shape)
    if name == "log1mexp":
        x = np.abs(x) + 0.1
    return jnp.asarray(x, dtype=dtype)


@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_grad_goes_through_the_hand_written_rule(item):
    name, params = item
    fn = bound(name, params)
    x = _input(name)
    forward = jax.make_jaxpr(fn)(x)
    (outer,) = forward.jaxpr.eqns
    assert outer.primitive.name in ("jit", "pjit"), "the public function is not jit-compiled"
    inner = outer.params["jaxpr"].jaxpr
    # The compiled body is the custom_vjp call and nothing else differentiable.
    assert [e.primitive.name for e in inner.eqns] == ["custom_vjp_call"]
    # Forward mode is refused: JAX has no derivative for it but the hand-written backward rule,
    # so jax.grad cannot be autodiff of the forward formula.
    with pytest.raises(TypeError, match="custom_vjp"):
        jax.jvp(fn, (x,), (jnp.ones_like(x),))


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64"])
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_output_and_gradient_keep_the_input_dtype(item, dtype):
    name, params = item
    fn = bound(name, params)
    with jax.enable_x64(dtype == "float64"):
        x = _input(name, dtype=dtype)

        @jax.jit  # the forward and backward pass as one program: one compilation
        def value_and_cotangent(x):
            y, vjp = jax.vjp(fn, x)
            return y, vjp(jnp.ones_like(y))[0]

        y, dx = value_and_cotangent(x)
        assert y.dtype == x.dtype and dx.dtype == x.dtype
        assert dx.shape == x.shape
        assert bool(jnp.all(jnp.isfinite(dx)))


@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_vmap_jit_and_scan_agree_with_the_plain_call(item):
    name, params = item
    fn = bound(name, params)
    x = _input(name, shape=(3, 4, 6))

    def loss(z):
        return jnp.sum(fn(z) ** 2)

    # (each gradient compiled as one program: op by op, every step is compiled on its own)
    grad = jax.jit(jax.grad(loss))
    plain_y = jnp.stack([fn(xi) for xi in x])
    plain_g = jnp.stack([grad(xi) for xi in x])
    # XLA compiles a batched kernel differently (vectorised sin, fused products): the same
    # values to within rounding, not always bit for bit.
    np.testing.assert_allclose(jax.vmap(fn)(x), plain_y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.jit(jax.vmap(grad))(x), plain_g, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.jit(lambda z: jax.vmap(fn)(z))(x), plain_y, rtol=1e-6, atol=1e-6)

    def step(carry, xi):
        return carry + jnp.sum(fn(xi)), jax.grad(loss)(xi)

    total, grads = jax.lax.scan(step, jnp.zeros((), x.dtype), x)
    np.testing.assert_allclose(grads, plain_g, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(total, jnp.sum(plain_y), rtol=1e-5)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64"])
def test_plain_relu_takes_the_short_path_and_agrees_with_the_general_one(dtype):
    # relu(x) with no parameters is its own compiled function (max(x, 0), in the input's own
    # dtype, and a select for the backward rule); passing the defaults explicitly takes the
    # general one (slope, cap and threshold as arrays, in float32 for the 16-bit dtypes).
    # Same numbers, first and second derivatives included.
    with jax.enable_x64(dtype == "float64"):
        x = jnp.array([-jnp.inf, -2.0, -0.0, 0.0, 1e-40, 3.0, jnp.inf, jnp.nan], dtype)
        general = functools.partial(actfn.relu, negative_slope=0.0, max_value=None, threshold=0.0)

        def same(a, b):  # (as float32: NumPy's NaN-aware equality does not know bfloat16)
            assert a.dtype == b.dtype == x.dtype
            np.testing.assert_array_equal(np.float32(a), np.float32(b))

        same(actfn.relu(x), general(x))
        same(jax.vmap(jax.grad(actfn.relu))(x), jax.vmap(jax.grad(general))(x))
        # The second derivative too, where x is a number; at NaN the short path's is NaN.
        second = jax.vmap(jax.grad(jax.grad(actfn.relu)))(x)
        same(second[:-1], jax.vmap(jax.grad(jax.grad(general)))(x)[:-1])
        assert bool(jnp.isnan(second[-1]))
        twin = jax.jvp(actfn.forward_mode(actfn.relu), (x,), (jnp.ones_like(x),))[1]
        same(twin, jax.vmap(jax.grad(general))(x))
        eqns = jax.make_jaxpr(actfn.relu)(x).jaxpr.eqns[0].params["jaxpr"].eqns
        assert [e.primitive.name for e in eqns] == ["custom_vjp_call"]
        inner = eqns[0].params["call_jaxpr"].jaxpr.eqns[0].params["call_jaxpr"].jaxpr.eqns
        assert [e.primitive.name for e in inner] == ["max"]  # no conversion to float32
        backward = jax.make_jaxpr(jax.vjp(actfn.relu, x)[1])(x).jaxpr
        names = {e.primitive.name for e in backward.eqns}
        assert "mul" not in names and "convert_element_type" not in names, names
