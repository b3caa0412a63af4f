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


@functools.cache
def _values_and_cotangents(item_id, x64):
    """The call and its backward pass for each dtype, as one compiled program per variant: the
    16-bit dtypes and float32 as users run them, float64 with x64 on."""
    name, params = next(i for i in VARIANTS if variant_id(i) == item_id)
    fn = bound(name, params)
    dtypes = ["float64"] if x64 else ["bfloat16", "float16", "float32"]

    @jax.jit
    def run(xs):
        out = []
        for x in xs:
            y, vjp = jax.vjp(fn, x)
            out.append((y, vjp(jnp.ones_like(y))[0]))
        return out

    with jax.enable_x64(x64):
        return dict(zip(dtypes, run([_input(name, dtype=d) for d in dtypes])))


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64"])
@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_output_and_gradient_keep_the_input_dtype(item, dtype):
    y, dx = _values_and_cotangents(variant_id(item), dtype == "float64")[dtype]
    assert y.dtype == dx.dtype == jnp.dtype(dtype)
    assert dx.shape == _input(item[0]).shape
    assert bool(jnp.all(jnp.isfinite(dx)))


@pytest.mark.parametrize("item", VARIANTS, ids=variant_id)
def test_vmap_jit_and_scan_agree_with_the_plain_call(item):
    name, params = item
    fn = bound(name, params)
    x = _input(name, shape=(3, 4, 6))

    def loss(z):
        return jnp.sum(fn(z) ** 2)

    # The plain call row by row (the gradient compiled as one program), against vmap, and
    # scan, in one compiled program.
    grad = jax.jit(jax.grad(loss))
    plain_y = jnp.stack([fn(xi) for xi in x])
    plain_g = jnp.stack([grad(xi) for xi in x])

    def step(carry, xi):
        return carry + jnp.sum(fn(xi)), jax.grad(loss)(xi)

    @jax.jit
    def transformed(z):
        return jax.vmap(fn)(z), jax.vmap(jax.grad(loss))(z), jax.lax.scan(step, 0.0 * z[0, 0, 0], z)

    mapped_y, mapped_g, (total, grads) = transformed(x)
    # XLA compiles a batched kernel differently (vectorised sin, fused products): the same
    # values to within rounding, not always bit for bit.
    np.testing.assert_allclose(mapped_y, plain_y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mapped_g, plain_g, rtol=1e-6, atol=1e-6)
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
