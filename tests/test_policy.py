"""One dtype and input policy for every activation, and clear errors for bad input."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import all_variants, bound, variant_id
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import actfn
from actfn.__main__ import variants
from actfn._wiring import compute_dtype

NAMES = actfn.names()


def default(name):
    """The activation with its default parameters (required ones from its example)."""
    return bound(name, variants(name)[0])


def _x(name, dtype=jnp.float32):
    x = jnp.linspace(-3.0, 3.0, 24, dtype=jnp.float32).reshape(4, 6)
    if name == "log1mexp":
        x = jnp.abs(x) + 0.1
    return x.astype(dtype)


@pytest.mark.parametrize("name", NAMES)
def test_integer_and_boolean_inputs_promote_to_the_default_float(name):
    fn = default(name)
    for x in (jnp.arange(1, 25, dtype=jnp.int32).reshape(4, 6), jnp.ones((4, 6), dtype=bool)):
        y = fn(x)
        assert y.dtype == jnp.float32
        np.testing.assert_array_equal(y, fn(x.astype(jnp.float32)))


@pytest.mark.parametrize("name", NAMES)
def test_python_scalars_numpy_arrays_and_lists_are_accepted(name):
    fn = default(name)
    x = np.asarray(_x(name))
    np.testing.assert_array_equal(fn(x), fn(jnp.asarray(x)))
    np.testing.assert_array_equal(fn(x.tolist()), fn(jnp.asarray(x)))
    if actfn.spec(name).elementwise:
        assert fn(0.5).shape == () and fn(0.5).dtype == jnp.float32


@pytest.mark.parametrize(
    "bad",
    [jnp.ones(3, dtype=jnp.complex64), "relu", None, object()],
    ids=["complex", "string", "None", "object"],
)
@pytest.mark.parametrize("name", NAMES)
def test_non_real_inputs_raise_a_type_error_naming_the_function(name, bad):
    with pytest.raises(TypeError, match=rf"`actfn\.{name}`.*float16, bfloat16, float32, float64"):
        default(name)(bad)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: actfn.elu(1.0, alpha=0.0), r"`actfn.elu` parameter `alpha` must be > 0"),
        (lambda: actfn.celu(1.0, alpha=-1.0), r"`alpha` must be > 0"),
        (lambda: actfn.relu(1.0, max_value=-1.0), r"`max_value` must be >= 0"),
        (lambda: actfn.hard_tanh(1.0, 2.0, 1.0), r"`min_val <= max_val`"),
        (lambda: actfn.squareplus(1.0, b=-1.0), r"`b` must be >= 0"),
        (lambda: actfn.softplus(1.0, beta=0.0), r"`beta` must be > 0"),
        (lambda: actfn.hard_shrink(1.0, -0.5), r"`lambd` must be >= 0"),
        (lambda: actfn.rrelu(1.0, 0.5, 0.1), r"`lower <= upper`"),
        (lambda: actfn.snake(1.0, jnp.array([1.0, -1.0])), r"`a` must be > 0"),
        (lambda: actfn.softmax(jnp.ones((2, 3)), axis=2), r"`axis=2` is out of range.*\[-2, 1\]"),
        (lambda: actfn.softmax(jnp.ones((2, 3)), axis=(0, 0)), r"repeats an axis"),
        (lambda: actfn.glu(jnp.ones((2, 3))), r"its size is 3, which is odd"),
        (lambda: actfn.glu(jnp.ones((2, 4)), axis=-3), r"out of range"),
        (lambda: actfn.softmax(jnp.ones((2, 3)), where=jnp.ones(4, bool)), r"`where` has shape"),
        (lambda: actfn.prelu(jnp.ones((2, 3)), jnp.ones(4)), r"does not broadcast"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_errors_are_raised_at_trace_time_before_any_computation():
    calls = []

    def traced(x):
        calls.append(1)
        return actfn.softmax(x, where=jnp.ones(5, bool))

    with pytest.raises(ValueError):
        jax.jit(traced)(jnp.ones((2, 3)))


def test_traced_parameters_are_not_checked_but_concrete_arrays_are():
    # Inside jit a learnable alpha is a tracer: no concrete check, and no error.
    assert jax.jit(lambda a: actfn.elu(-1.0, a))(0.5).shape == ()
    with pytest.raises(ValueError):
        actfn.elu(-1.0, jnp.asarray(-0.5))


@pytest.mark.parametrize(
    "item", [v for v in all_variants() if actfn.spec(v[0]).params], ids=variant_id
)
def test_float32_parameter_does_not_upcast_a_bfloat16_input(item):
    name, params = item
    spec = actfn.spec(name)
    values = {
        p.name: jnp.asarray(
            params.get(p.name, p.default if p.default is not None else 6.0), dtype=jnp.float32
        )
        for p in spec.params
    }
    x = _x(name, jnp.bfloat16)
    fn = functools.partial(spec.function, **{k: v for k, v in params.items() if k not in values})
    y = fn(x, **values)
    assert y.dtype == jnp.bfloat16
    grads = jax.grad(lambda v: jnp.sum(fn(x, **v).astype(jnp.float32)))(values)
    assert all(g.dtype == jnp.float32 for g in grads.values())


@pytest.mark.parametrize("item", all_variants(), ids=variant_id)
def test_nan_in_gives_nan_out_in_value_and_gradient(item):
    name, params = item
    fn = bound(name, params)
    x = _x(name).at[1, 2].set(jnp.nan)
    y, vjp = jax.vjp(fn, x)
    (dx,) = vjp(jnp.ones_like(y))
    if actfn.spec(name).elementwise:
        # identity keeps nothing for its backward pass: its gradient is the cotangent itself.
        assert bool(jnp.isnan(y[1, 2])) and (name == "identity" or bool(jnp.isnan(dx[1, 2])))
        mask = np.ones(x.shape, bool)
        mask[1, 2] = False
        assert not np.any(np.isnan(np.asarray(y)[mask]))
    else:
        assert bool(jnp.any(jnp.isnan(y))) and bool(jnp.any(jnp.isnan(dx)))


LIMITS = {  # f(-inf), f(+inf) for the default parameters
    "squared_relu": (0.0, np.inf),
    "star_relu": (-0.4472135954999579, np.inf),
    "xielu": (np.inf, np.inf),
    "quick_gelu": (0.0, np.inf),
    "snake_beta": (-np.inf, np.inf),
    "rational": (-np.inf, np.inf),
    "relu": (0.0, np.inf),
    "leaky_relu": (-np.inf, np.inf),
    "prelu": (-np.inf, np.inf),
    "rrelu": (-np.inf, np.inf),
    "relu6": (0.0, 6.0),
    "elu": (-1.0, np.inf),
    "selu": (-1.7580993408473766, np.inf),
    "celu": (-1.0, np.inf),
    "threshold": (-1.0, np.inf),
    "hard_shrink": (-np.inf, np.inf),
    "soft_shrink": (-np.inf, np.inf),
    "hard_tanh": (-1.0, 1.0),
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "softplus": (0.0, np.inf),
    "soft_sign": (-1.0, 1.0),
    "exponential": (0.0, np.inf),
    "identity": (-np.inf, np.inf),
    "hard_sigmoid": (0.0, 1.0),
    "sparse_sigmoid": (0.0, 1.0),
    "log_sigmoid": (-np.inf, 0.0),
    "tanh_shrink": (-np.inf, np.inf),
    "squareplus": (0.0, np.inf),
    "sparse_plus": (0.0, np.inf),
    "silu": (0.0, np.inf),
    "gelu": (0.0, np.inf),
    "mish": (0.0, np.inf),
    "hard_silu": (0.0, np.inf),
    "snake": (-np.inf, np.inf),
}


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_infinite_inputs_give_the_limits(name):
    fn = default(name)
    y = np.asarray(fn(jnp.array([-jnp.inf, jnp.inf])))
    np.testing.assert_allclose(y, LIMITS[name], rtol=1e-6)


def test_every_elementwise_activation_has_its_limits_tested():
    elementwise = {n for n in NAMES if actfn.spec(n).elementwise and n != "log1mexp"}
    assert elementwise == set(LIMITS)


def _finite_derivative_expected(name, x, dtype):
    """Where the true derivative is a finite number of the dtype (exp overflows; log1mexp
    diverges at 0)."""
    if name == "exponential":
        return x < np.log(float(jnp.finfo(dtype).max))
    if name in ("squared_relu", "star_relu", "xielu"):
        # f' grows like 2 x (1.8 x, 1.6 x): it overflows the dtype from about half its largest.
        return np.abs(x) < 0.5 * float(jnp.finfo(dtype).max)
    if name == "log1mexp":
        # f'(x) = 1 / expm1(x) overflows the dtype as x -> 0; and XLA may flush a subnormal x
        # (of float32, in which the 16-bit dtypes compute) to 0, where f' is rightly inf.
        normal = float(jnp.finfo(compute_dtype(dtype)).tiny)
        return (x > 1.01 / float(jnp.finfo(dtype).max)) & (x >= normal)
    return np.ones(x.shape, bool)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("name", [n for n in NAMES if actfn.spec(n).elementwise])
def test_property_any_input_of_any_dtype(name, dtype, data):
    # bfloat16 has no NumPy strategy: float32 draws (inf, NaN, subnormals, huge) rounded to it.
    width = {"float16": 16, "bfloat16": 32, "float32": 32, "float64": 64}[dtype]
    drawn = data.draw(
        hnp.arrays(
            np.dtype(f"float{width}"),
            st.integers(1, 16),
            elements=st.floats(width=width, allow_nan=True, allow_infinity=True),
        )
    )
    # Repeated to one shape: one compiled program per activation and dtype, not one per size.
    drawn = np.resize(drawn, 16)
    with jax.enable_x64(dtype == "float64"):
        _check_any_input(name, dtype, jnp.asarray(drawn).astype(dtype))


def _check_any_input(name, dtype, xj):
    x = np.asarray(xj, np.float64)
    fn = default(name)
    y, vjp = jax.vjp(fn, xj)
    (dx,) = vjp(jnp.ones_like(y))
    assert y.dtype == xj.dtype and y.shape == xj.shape and dx.dtype == xj.dtype
    y, dx = np.asarray(y, np.float64), np.asarray(dx, np.float64)
    valid = ~np.isnan(x) & (x > actfn.spec(name).domain[0])
    assert not np.any(np.isnan(y[valid])), x[valid][np.isnan(y[valid])]
    lo, hi = actfn.spec(name).output_range
    assert np.all((y[valid] >= lo - 1e-3) & (y[valid] <= hi + 1e-3))
    finite = valid & np.isfinite(x) & _finite_derivative_expected(name, x, dtype)
    assert np.all(np.isfinite(dx[finite])), x[finite][~np.isfinite(dx[finite])]
