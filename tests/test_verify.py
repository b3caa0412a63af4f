"""`actfn.verify` and `actfn.define`: wrong derivatives are rejected, correct ones accepted."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

import actfn
from actfn._verify import default_points

POINTS = np.linspace(-5.0, 5.0, 301)


def swish_forward(x, beta):
    return x * jax.nn.sigmoid(beta * x)


def swish_derivative(x, beta):
    # Accurate in both tails: s (1 - s) = sigmoid(z) sigmoid(-z).
    s, t = jax.nn.sigmoid(beta * x), jax.nn.sigmoid(-beta * x)
    return s + beta * (x * t) * s, (x * s) * (x * t)


def swish_reference(x, beta):
    return x / (1.0 + jnp.exp(-beta * x))


def make_swish(derivative=swish_derivative, **kwargs):
    return actfn.define(
        swish_forward,
        derivative,
        name="swish_test",
        params={"beta": 1.0},
        reference=swish_reference,
        **kwargs,
    )


def hand_written(fwd_value, bwd):
    """A hand-written jax.custom_vjp of tanh with the given forward value and backward rule."""

    @jax.custom_vjp
    def f(x):
        return jnp.tanh(x)

    f.defvjp(lambda x: (fwd_value(x), x), bwd)
    return f


def rejected(fn, reference=None, *, match, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        actfn.verify(fn, reference, **kwargs)
    message = str(info.value)
    assert match in message, message
    return message


# --- the bank of wrong derivatives --------------------------------------------------------------


def test_wrong_at_a_single_point_among_hundreds_is_named():
    def derivative(x, beta):
        dx, dbeta = swish_derivative(x, beta)
        return jnp.where(jnp.abs(x - 0.7) < 1e-6, dx + 0.01, dx), dbeta

    message = rejected(make_swish(derivative), match="grad vs", points=POINTS)
    assert "x = 0.7" in message


def test_wrong_only_for_large_inputs_is_caught():
    def derivative(x, beta):
        dx, dbeta = swish_derivative(x, beta)
        return jnp.where(jnp.abs(x) > 20, dx * 1.001, dx), dbeta

    message = rejected(make_swish(derivative), match="grad vs finite differences")
    worst = float(message.split("at x = ")[1].split(":")[0])
    assert abs(worst) > 20


def test_wrong_sign_on_one_branch_is_caught():
    wrong_elu = actfn.define(
        lambda x: jnp.where(x > 0, x, jnp.expm1(jnp.minimum(x, 0.0))),
        lambda y: jnp.where(y > 0, 1.0, -(y + 1.0)),
        saves="y",
        kinks={0.0: 1.0},
    )
    message = rejected(wrong_elu, match="grad vs finite differences", points=POINTS)
    assert "at x = -" in message


def test_wrong_parameter_gradient_is_caught():
    def derivative(x, beta):
        dx, dbeta = swish_derivative(x, beta)
        return dx, 0.5 * dbeta

    rejected(make_swish(derivative), match="grad[beta] vs", points=POINTS)


def test_wrong_kink_value_is_caught():
    relu = actfn.define(
        lambda x: jnp.maximum(x, 0.0), lambda x: jnp.where(x >= 0, 1.0, 0.0), kinks={0.0: 0.0}
    )
    message = rejected(relu, match="`kinks`", points=POINTS)
    assert "at x = 0.0: got 1.0, expected 0.0" in message


def test_undeclared_kink_is_reported_with_the_one_sided_derivatives_measured():
    leaky = actfn.define(
        lambda x: jnp.where(x > 0, x, 0.25 * x), lambda x: jnp.where(x > 0, 1.0, 0.25)
    )
    message = rejected(leaky, match="`kinks` failed in float32 at x = 0.0", points=POINTS)
    assert "one-sided derivatives 0.25 (left) and 1 (right), the backward rule gives 0.25" in (
        message
    )
    assert "declare it with `kinks={0.0: d}`" in message
    assert "None" not in message


def test_a_reference_taking_the_parameters_in_order_is_passed_them_in_order():
    def elu_forward(x, alpha):
        return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0.0)))

    def elu_derivative(x, alpha):
        neg = jnp.minimum(x, 0.0)
        return jnp.where(x > 0, 1.0, alpha * jnp.exp(neg)), jnp.where(x > 0, 0.0, jnp.expm1(neg))

    elu = actfn.define(elu_forward, elu_derivative, params={"alpha": 1.0}, kinks={0.0: 1.0})
    good = actfn.verify(elu, lambda x, a: jnp.where(x > 0, x, a * (jnp.exp(x) - 1.0)))
    assert good.passed
    # The reference is really called with the parameter: a wrong one is caught.
    rejected(
        elu,
        lambda x, a: jnp.where(x > 0, x, 2.0 * a * (jnp.exp(x) - 1.0)),
        match="value vs reference",
        points=POINTS,
    )
    with pytest.raises(TypeError, match=r"the reference of `elu_forward` takes \(x\), but the "):
        actfn.verify(elu, lambda x: x)


# --- what verify reports instead of crashing -------------------------------------------------


def prelu_with_unsummed_alpha_gradient():
    @jax.custom_vjp
    def prelu(x, alpha):
        return jnp.where(x > 0, x, alpha * x)

    def bwd(residuals, g):
        x, alpha = residuals
        return g * jnp.where(x > 0, 1.0, alpha), g * jnp.where(x > 0, 0.0, x)  # not summed

    prelu.defvjp(lambda x, alpha: (prelu(x, alpha), (x, alpha)), bwd)
    return prelu


def test_a_cotangent_of_the_wrong_shape_is_a_failed_check_naming_the_parameter():
    report = actfn.verify(
        prelu_with_unsummed_alpha_gradient(), params={"alpha": 0.25}, raise_on_failure=False
    )
    assert [(c.name, c.passed) for c in report.checks] == [("runs", False)] * 2
    message = report.failures[0].message("prelu")
    assert "returns a cotangent of shape (7,) for `alpha`, whose shape is ()" in message


def test_an_exception_in_the_function_is_a_failed_check():
    def broken(x, g):
        raise RuntimeError("the user's bug")

    report = actfn.verify(hand_written(jnp.tanh, broken), raise_on_failure=False)
    assert {c.name for c in report.failures} == {"runs"}
    assert "raised RuntimeError: the user's bug" in report.failures[0].message("tanh")


def user_softmax(x):
    e = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_with_bwd(bwd):
    f = jax.custom_vjp(user_softmax)
    f.defvjp(lambda x: (user_softmax(x), user_softmax(x)), bwd)
    return f


def test_a_user_function_along_an_axis_is_detected_and_fed_arrays():
    def right(y, g):
        return (y * (g - jnp.sum(g * y, axis=-1, keepdims=True)),)

    def wrong(y, g):  # forgets the sum's dependence on the other elements
        return (y * (g - g * y),)

    for declared in ({}, {"axis": -1}):
        report = actfn.verify(softmax_with_bwd(right), jax.nn.softmax, **declared)
        assert report.passed and any(c.name == "vjp vs finite differences" for c in report.checks)
        rejected(softmax_with_bwd(wrong), match="vjp vs finite differences", **declared)
    with pytest.raises(ValueError, match="`relu` is elementwise"):
        actfn.verify(actfn.relu, axis=-1)


def test_every_failed_check_prints_the_figure_that_failed_it():
    def tanh_rule(bwd, fwd=jnp.tanh):
        return hand_written(fwd, bwd)

    def slope(x):
        return 1.0 - jnp.tanh(x) ** 2

    bank = {
        "not linear in g": tanh_rule(lambda x, g: (jnp.sign(g) * slope(x),)),
        "ignores g": tanh_rule(lambda x, g: (slope(x),)),
        "other value": tanh_rule(lambda x, g: (g * slope(x),), lambda x: jnp.tanh(x) * 1.001),
        "float16": tanh_rule(lambda x, g: ((g * slope(x)).astype(jnp.float16),)),
        "inf": tanh_rule(lambda x, g: (g * jnp.where(x > 3, jnp.inf, slope(x)),)),
        "wrong": tanh_rule(lambda x, g: (g * slope(x) * 1.01,)),
        "unsummed": prelu_with_unsummed_alpha_gradient(),
        "kink": actfn.define(
            lambda x: jnp.maximum(x, 0.0), lambda x: jnp.where(x >= 0, 1.0, 0.0), kinks={0.0: 0.0}
        ),
    }
    seen = set()
    for label, fn in bank.items():
        params = {"alpha": 0.25} if label == "unsummed" else None
        report = actfn.verify(
            fn,
            jnp.tanh if label != "kink" and not params else None,
            params=params,
            points=POINTS,
            raise_on_failure=False,
        )
        assert not report.passed, label
        for check in report.failures:
            seen.add(check.name)
            message = check.message(label)
            assert "None" not in message and "abs error 0," not in message, message
            assert " 0x the tolerance" not in message, message
            assert check.figure or (check.worst_input is not None and check.score > 1), message
    assert {
        "linear in the cotangent",
        "zero cotangent gives zero",
        "value_and_grad value equals the call",
        "dtype and shape",
        "gradient finite",
        "grad vs finite differences",
        "kinks",
        "runs",
    } <= seen


def test_ignored_cotangent_is_caught():
    f = hand_written(jnp.tanh, lambda x, g: (1.0 - jnp.tanh(x) ** 2,))
    rejected(f, jnp.tanh, match="zero cotangent gives zero", points=POINTS)


def test_stop_gradient_in_the_backward_rule_is_caught():
    f = hand_written(jnp.tanh, lambda x, g: (g * jax.lax.stop_gradient(1.0 - jnp.tanh(x) ** 2),))
    rejected(f, jnp.tanh, match="second order", points=POINTS)


def test_forward_rule_with_another_value_is_caught():
    f = hand_written(lambda x: jnp.tanh(x) * 1.001, lambda x, g: (g * (1.0 - jnp.tanh(x) ** 2),))
    rejected(f, jnp.tanh, match="value_and_grad value equals the call", points=POINTS)


def test_gradient_in_the_wrong_dtype_is_caught():
    f = hand_written(jnp.tanh, lambda x, g: ((g * (1.0 - jnp.tanh(x) ** 2)).astype(jnp.float16),))
    rejected(f, jnp.tanh, match="dtype and shape", points=POINTS)


def test_wrong_reference_is_told_apart_from_a_wrong_derivative():
    # A reference of another function: only the reference checks fail; the derivative agrees
    # with finite differences of the function itself.
    report = actfn.verify(
        make_swish(),
        lambda x, beta: x / (1.0 + jnp.exp(-1.1 * beta * x)),
        points=POINTS,
        raise_on_failure=False,
    )
    failed = {c.name for c in report.failures}
    assert "grad vs reference" in failed and "value vs reference" in failed
    assert not {n for n in failed if "finite differences" in n}


def test_reference_whose_own_gradient_is_wrong_is_reported():
    # Right values, wrong autodiff (a stop_gradient): the reference disagrees with its own
    # finite differences, and the function's derivative is still accepted against them.
    def reference(x, beta):
        return x * jax.lax.stop_gradient(jax.nn.sigmoid(beta * x))

    report = actfn.verify(make_swish(), reference, points=POINTS, raise_on_failure=False)
    failed = {c.name for c in report.failures}
    assert "reference vs finite differences" in failed
    assert "grad vs finite differences" not in failed


# --- the bank of correct derivatives ------------------------------------------------------------

WIDE = np.concatenate([default_points(), [-1e4, -3e3, 3e3, 1e4]])


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64"])
@pytest.mark.parametrize(
    "fn", [actfn.silu, actfn.gelu, actfn.tanh, actfn.elu, actfn.softplus], ids=lambda f: f.__name__
)
def test_correct_builtin_is_accepted(fn, dtype):
    report = actfn.verify(fn, dtypes=[dtype], points=WIDE)
    assert report.passed


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64"])
def test_correct_definition_is_accepted(dtype):
    assert actfn.verify(make_swish(), dtypes=[dtype], points=WIDE).passed


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_correct_hand_written_custom_vjp_is_accepted(dtype):
    f = hand_written(jnp.tanh, lambda x, g: (g * (1.0 - jnp.tanh(x)) * (1.0 + jnp.tanh(x)),))
    assert actfn.verify(f, jnp.tanh, dtypes=[dtype], points=WIDE).passed


def test_check_grads_blind_spot_is_not_ours():
    # One wrong input among 301 passes jax.test_util.check_grads (one random projection); the
    # elementwise check names it.
    def derivative(x, beta):
        dx, dbeta = swish_derivative(x, beta)
        return jnp.where(jnp.abs(x - 0.7) < 1e-6, dx + 0.01, dx), dbeta

    wrong = make_swish(derivative)
    x = jnp.asarray(POINTS, dtype=jnp.float32)
    jax.test_util.check_grads(lambda z: wrong(z, 1.0), (x,), order=1, modes=["rev"])
    rejected(wrong, match="x = 0.7", points=POINTS)


# --- the report --------------------------------------------------------------------------------


def test_report_table_names_every_check():
    report = actfn.verify(actfn.elu, dtypes=["float32"])
    text = str(report)
    assert text.startswith("verify elu: passed")
    for check in report.checks:
        assert check.name in text
    assert all(c.max_abs >= 0 and c.score <= 1 for c in report.checks)


def test_points_near_kinks_are_skipped_and_counted():
    report = actfn.verify(actfn.relu, dtypes=["float64"], points=np.linspace(-1, 1, 201))
    fd = next(c for c in report.checks if c.name == "grad vs finite differences")
    assert fd.skipped >= 1 and fd.points + fd.skipped == 201


# --- define and the forward-mode twins ------------------------------------------------------------


def test_define_makes_a_jit_custom_vjp_activation_with_the_dtype_policy():
    swish = make_swish()
    x = jnp.linspace(-3, 3, 7, dtype=jnp.bfloat16)
    y = swish(x, 1.5)
    assert y.dtype == jnp.bfloat16
    expected = np.asarray(swish_forward(x.astype(jnp.float32), 1.5).astype(jnp.bfloat16))
    np.testing.assert_array_equal(np.asarray(y), expected)
    jaxpr = str(jax.make_jaxpr(swish)(x))
    assert "custom_vjp_call" in jaxpr


def test_define_rejects_a_derivative_with_the_wrong_arity_when_it_is_defined():
    # Only df/dx for a function with a parameter: found at definition, not at the first grad.
    with pytest.raises(TypeError, match=r"returns 1 value\(s\), but it has 1 parameter"):
        actfn.define(swish_forward, lambda x, beta: jax.nn.sigmoid(x), params={"beta": 1.0})
    with pytest.raises(TypeError, match=r"derivative cannot be called as derivative\(x, beta\)"):
        actfn.define(swish_forward, lambda x: jax.nn.sigmoid(x), params={"beta": 1.0})
    with pytest.raises(TypeError, match=r"forward cannot be called as forward\(x, beta\)"):
        actfn.define(jnp.tanh, swish_derivative, params={"beta": 1.0})


def test_define_takes_the_parameters_and_defaults_of_the_forward_signature():
    def scaled_swish(x, beta=1.5):
        return swish_forward(x, beta)

    swish = actfn.define(scaled_swish, swish_derivative)
    assert str(swish.__signature__) == "(x, beta=1.5)"
    x = jnp.linspace(-3.0, 3.0, 7)
    np.testing.assert_array_equal(swish(x), swish(x, 1.5))
    assert not np.array_equal(swish(x), swish(x, 1.0))
    dbeta = jax.grad(lambda b: swish(x, b).sum())(1.5)
    np.testing.assert_allclose(dbeta, swish_derivative(x, 1.5)[1].sum(), rtol=1e-6)
    assert actfn.verify(swish, reference=swish_reference).passed
    # Named without defaults, the signature's defaults still apply.
    named = actfn.define(scaled_swish, swish_derivative, params=["beta"])
    np.testing.assert_array_equal(named(x), swish(x))
    with pytest.raises(TypeError, match="`approximate` defaults to False, which is not a number"):
        actfn.define(lambda x, approximate=False: x, lambda x, approximate: (1.0, 0.0))


def test_register_makes_a_definition_available_by_name():
    swish = make_swish()
    actfn.register(swish, "swish_registered_in_test")
    assert actfn.get("swish_registered_in_test") is swish
    config = actfn.serialize(actfn.get({"name": "swish_registered_in_test", "beta": 2.0}))
    assert config == {"name": "swish_registered_in_test", "beta": 2.0}


@pytest.mark.parametrize(
    "fn", [actfn.elu, actfn.gelu, actfn.softmax, actfn.glu, actfn.prelu], ids=lambda f: f.__name__
)
def test_forward_mode_twin_agrees_with_reverse_mode(fn):
    twin = actfn.forward_mode(fn)
    args = (0.25,) if fn is actfn.prelu else ()
    x = jnp.linspace(-2.0, 2.0, 8)
    forward = jax.jacfwd(lambda z: twin(z, *args))(x)
    reverse = jax.jacrev(lambda z: fn(z, *args))(x)
    np.testing.assert_allclose(forward, reverse, rtol=1e-6, atol=1e-7)
    hessian = jax.hessian(lambda z: jnp.sum(twin(z, *args) ** 2))(x)
    assert hessian.shape == (8, 8) and bool(jnp.all(jnp.isfinite(hessian)))


@pytest.mark.parametrize("name", ["elu", "silu", "gelu", "softplus", "mish"])
def test_forward_mode_twin_passes_verify(name):
    assert actfn.verify(actfn.forward_mode(actfn.spec(name).function), dtypes=["float64"]).passed


def test_forward_mode_of_a_hand_written_custom_vjp():
    f = hand_written(jnp.tanh, lambda x, g: (g * (1.0 - jnp.tanh(x) ** 2),))
    _, tangent = jax.jvp(actfn.forward_mode(f), (0.5,), (1.0,))
    np.testing.assert_allclose(tangent, 1.0 - np.tanh(0.5) ** 2, rtol=1e-6)


def test_forward_mode_of_a_custom_vjp_with_symbolic_zeros():
    # Its forward rule takes CustomVJPPrimal(value, perturbed); its backward rule says None for
    # a zero cotangent.  The twin tells the rule which inputs move, as JAX does.
    seen = []

    @jax.custom_vjp
    def scaled_cube(x, a):
        return a * x**3

    def fwd(x, a):
        seen.append((x.perturbed, a.perturbed))
        return a.value * x.value**3, (x.value, a.value)

    def bwd(residuals, g):
        x, a = residuals
        return 3.0 * a * x**2 * g, None

    scaled_cube.defvjp(fwd, bwd, symbolic_zeros=True)
    twin = actfn.forward_mode(scaled_cube)
    _, tangent = jax.jvp(lambda x: twin(x, 2.0), (1.5,), (1.0,))
    np.testing.assert_allclose(tangent, 3.0 * 2.0 * 1.5**2, rtol=1e-6)
    assert seen[-1] == (True, False)
    _, tangent = jax.jvp(twin, (1.5, 2.0), (1.0, 1.0))  # a's cotangent None counts as zero
    np.testing.assert_allclose(tangent, 3.0 * 2.0 * 1.5**2, rtol=1e-6)
    assert seen[-1] == (True, True)


def test_forward_mode_rejects_a_plain_function():
    with pytest.raises(TypeError, match="actfn.define"):
        actfn.forward_mode(jnp.tanh)


def test_notebook_sized_example_define_verify_break():
    swish = actfn.define(
        lambda x, beta: x * jax.nn.sigmoid(beta * x),
        lambda x, beta: swish_derivative(x, beta),
        name="my_swish",
        params={"beta": 1.0},
        reference=lambda x, beta: x / (1.0 + jnp.exp(-beta * x)),
    )
    assert actfn.verify(swish).passed

    def broken(x, beta):
        dx, dbeta = swish_derivative(x, beta)
        return jnp.where(x > 2.0, dx - 0.05, dx), dbeta

    bad = actfn.define(
        lambda x, beta: x * jax.nn.sigmoid(beta * x), broken, name="my_swish", params={"beta": 1.0}
    )
    message = rejected(bad, match="my_swish: check `grad vs finite differences` failed")
    assert float(message.split("at x = ")[1].split(":")[0]) > 2.0
