"""The accuracy harness: values and derivatives against a 50-digit mpmath oracle, in ulps.

`python -m actfn accuracy` measures every elementwise activation on a grid spanning the whole
finite range of float16, bfloat16, float32 and float64 (bfloat16 exhaustively with
`--exhaustive`), and reports jax.nn's error on the same points beside actfn's.

Error measures:
  * values: |got - true| / ulp(true), the ulp taken at max(|true|, smallest normal) so that
    results below the normal range may be flushed to 0 (XLA does on CPU);
  * derivatives, strict: the same ulp measure;
  * derivatives, mixed: |got - true| / (eps * max |true| over the grid), which is what a
    derivative computed from a saved output can promise in the tails.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

try:  # mpmath is a test dependency: the harness needs it, the library does not.
    import mpmath
except ImportError:  # pragma: no cover
    mpmath = None

from actfn._activations.rectifiers import SELU_ALPHA_DIGITS, SELU_SCALE_DIGITS, XIELU_EPS
from actfn._registry import spec
from actfn._wiring import compute_dtype

DIGITS = 50
DTYPES = ("float16", "bfloat16", "float32", "float64")


def _mp():
    if mpmath is None:
        raise ImportError('The accuracy harness needs mpmath: pip install -e ".[test]".')
    mpmath.mp.dps = DIGITS
    return mpmath


def _sig(m, x):
    return 1 / (1 + m.exp(-x))


def _softplus(m, x):
    return m.log1p(m.exp(x)) if x < 0 else x + m.log1p(m.exp(-x))


def _cancelling(m, f, x, order):
    """f(x) for an f that cancels like x^order near 0: the digits lost are added back."""
    lost = 0 if x == 0 else max(0, int(-(order - 1) * m.log10(abs(x))) + 5)
    with m.extradps(lost):  # on top of whatever precision the caller (mpmath.diff) works at
        return +f(x)


def _xielu_curvatures(m, p):
    # The raw parameters as the floats they are, through the softplus.
    ap = m.log1p(m.exp(p["alpha_p"]))
    return ap, p["beta"] + m.log1p(m.exp(p["alpha_n"])), p["beta"]


def _xielu(m, p, x):
    ap, an, beta = _xielu_curvatures(m, p)
    if x > 0:
        return ap * x * x + beta * x
    eps = m.mpf(XIELU_EPS)
    small = min(x, eps)
    # expm1(m) - m by its series where it cancels (50 digits are not enough at 1e-30).
    g = (
        _cancelling(m, lambda z: m.expm1(z) - z, small, 2)
        if abs(small) < 1e-3
        else (m.expm1(small) - small)
    )
    return an * (g + (small - x)) + beta * x


def _xielu_slope(m, p, x):
    ap, an, beta = _xielu_curvatures(m, p)
    if x > 0:
        return 2 * ap * x + beta
    return an * m.expm1(x) + beta if x < XIELU_EPS else beta - an


def rounded_defaults(name: str, dtype: str) -> tuple[tuple[str, float], ...]:
    """The default parameters as the activation computes with them on an input of `dtype`:
    rounded to its compute dtype (float32 for the 16-bit floats), where the oracle takes them.
    (star_relu's s = 0.894427... is another number in float32; next to f's zero that
    difference is most of the value.)"""
    dt = compute_dtype(dtype)
    entry = spec("gelu" if name == "gelu_tanh" else name)
    with jax.enable_x64(dt == jnp.float64):
        return tuple((k, float(jnp.asarray(v, dt))) for k, v in entry.default_values.items())


def _rational(m, p, x):
    a = [p[f"a{k}"] for k in range(6)]
    b = [p[f"b{k}"] for k in range(1, 5)]
    num = sum(c * x**k for k, c in enumerate(a))
    s = sum(c * x ** (k + 1) for k, c in enumerate(b))
    return num / (1 + abs(s))


def _rational_slope(m, p, x):
    a = [p[f"a{k}"] for k in range(6)]
    b = [p[f"b{k}"] for k in range(1, 5)]
    num = sum(c * x**k for k, c in enumerate(a))
    dnum = sum(k * c * x ** (k - 1) for k, c in enumerate(a) if k)
    s = sum(c * x ** (k + 1) for k, c in enumerate(b))
    ds = sum((k + 1) * c * x**k for k, c in enumerate(b))
    q = 1 + abs(s)
    return (dnum * q - num * m.sign(s) * ds) / q**2


def _oracles(m, p) -> dict[str, Callable]:
    """50-digit definitions of the elementwise activations at the parameters `p` (the
    defaults where a name's parameters are not given)."""
    a, s = m.mpf(SELU_ALPHA_DIGITS), m.mpf(SELU_SCALE_DIGITS)
    c = m.sqrt(2 / m.pi)
    return {
        "sigmoid": lambda x: _sig(m, x),
        "tanh": m.tanh,
        "softplus": lambda x: _softplus(m, x),
        "soft_sign": lambda x: x / (1 + abs(x)),
        "exponential": m.exp,
        "elu": lambda x: x if x > 0 else m.expm1(x),
        "selu": lambda x: s * x if x > 0 else s * a * m.expm1(x),
        "celu": lambda x: x if x > 0 else m.expm1(x),
        "log_sigmoid": lambda x: -_softplus(m, -x),
        # log1p for x > log 2: at 50 digits, 1 - exp(-188) is 1 and its log would be 0.
        "log1mexp": lambda x: m.log(-m.expm1(-x)) if x < m.log(2) else m.log1p(-m.exp(-x)),
        "tanh_shrink": lambda x: _cancelling(m, lambda z: z - m.tanh(z), x, 3),
        # For x < 0 the textbook (x + sqrt(x^2 + 4)) / 2 cancels beyond any fixed precision.
        "squareplus": lambda x: (
            (x + m.sqrt(x * x + 4)) / 2 if x >= 0 else 2 / (m.sqrt(x * x + 4) - x)
        ),
        "silu": lambda x: x * _sig(m, x),
        # Beyond |x| = 1e10 (where mpmath's erfc overflows) gelu is x or 0 to any precision.
        "gelu": lambda x: x * m.erfc(-x / m.sqrt(2)) / 2 if abs(x) < 1e10 else max(x, 0),
        "mish": lambda x: x * m.tanh(_softplus(m, x)),
        "snake": lambda x: x + m.sin(x) ** 2,
        "sparse_plus": lambda x: 0 if x <= -1 else (x if x >= 1 else (x + 1) ** 2 / 4),
        "squared_relu": lambda x: x * x if x > 0 else 0,
        "quick_gelu": lambda x: x * _sig(m, m.mpf("1.702") * x),
        "snake_beta": lambda x: x + m.sin(x) ** 2,
        "xielu": lambda x: _xielu(m, p, x),
        "star_relu": lambda x: p["s"] * x * x + p["b"] if x > 0 else p["b"],
        "rational": lambda x: _rational(m, p, x),
        # gelu(approximate=True)
        "gelu_tanh": lambda x: x * _sig(m, 2 * c * (x + m.mpf("0.044715") * x**3)),
    }


def _exact_derivatives(m, p) -> dict[str, Callable]:
    """Derivatives given in closed form where a finite difference cannot be trusted.

    snake's period is 2 pi however large |x| is, so a step relative to |x| spans many periods.
    The others tend to a constant other than 0 (sigmoid to 1, elu to -1), where 50 digits hold
    1 - 1e-87 as 1 and the difference quotient reads 0; float64 still has the true derivative
    (1e-87) in range.
    """
    a, s = m.mpf(SELU_ALPHA_DIGITS), m.mpf(SELU_SCALE_DIGITS)

    def sigmoid_slope(x):
        e = m.exp(-abs(x))
        return e / (1 + e) ** 2

    return {
        "snake": lambda x: 1 + m.sin(2 * x),
        "snake_beta": lambda x: 1 + m.sin(2 * x),
        "squared_relu": lambda x: 2 * x if x > 0 else 0,
        "xielu": lambda x: _xielu_slope(m, p, x),
        "star_relu": lambda x: 2 * p["s"] * x if x > 0 else 0,
        "rational": lambda x: _rational_slope(m, p, x),
        "sigmoid": sigmoid_slope,
        "tanh": lambda x: m.sech(x) ** 2,
        "soft_sign": lambda x: 1 / (1 + abs(x)) ** 2,
        "elu": lambda x: 1 if x > 0 else m.exp(x),
        "celu": lambda x: 1 if x > 0 else m.exp(x),
        "selu": lambda x: s if x > 0 else s * a * m.exp(x),
    }


def _parameter_derivatives(m, p) -> dict[str, tuple[str, Callable]]:
    """df/dparam at the default parameters, in closed forms written without cancellation."""

    def softplus_beta(x):
        # x sigmoid(x) - softplus(x), regrouped so that the two terms do not cancel for x > 0.
        if x > 0:
            return -x * _sig(m, -x) - m.log1p(m.exp(-x))
        return x * _sig(m, x) - m.log1p(m.exp(x))

    def celu_alpha(x):
        # expm1(x) - x exp(x), which cancels like x^2 / 2 near 0.
        return 0 if x > 0 else _cancelling(m, lambda z: m.expm1(z) - z * m.exp(z), x, 2)

    def snake_a(x):
        return x * m.sin(2 * x) - m.sin(x) ** 2

    return {
        "softplus": ("beta", softplus_beta),
        "elu": ("alpha", lambda x: 0 if x > 0 else m.expm1(x)),
        "celu": ("alpha", celu_alpha),
        "squareplus": ("b", lambda x: 1 / (4 * m.sqrt(x * x + 4))),
        "silu": ("beta", lambda x: x * x * _sig(m, x) * _sig(m, -x)),
        "snake": ("a", snake_a),
        "star_relu": ("s", lambda x: x * x if x > 0 else 0),
        # df/da1 = x / Q: the numerator's linear coefficient.
        "rational": ("a1", lambda x: x / (1 + abs(sum(p[f"b{k}"] * x**k for k in range(1, 5))))),
    }


ORACLE_NAMES = (
    "sigmoid",
    "tanh",
    "softplus",
    "soft_sign",
    "exponential",
    "elu",
    "selu",
    "celu",
    "log_sigmoid",
    "log1mexp",
    "tanh_shrink",
    "squareplus",
    "silu",
    "gelu",
    "mish",
    "snake",
    "sparse_plus",
    "squared_relu",
    "quick_gelu",
    "snake_beta",
    "xielu",
    "star_relu",
    "rational",
)


def grid(dtype: str, count: int = 400, exhaustive: bool = False) -> np.ndarray:
    """Points of the dtype spanning its whole finite range: both signs, log-spaced magnitudes
    from the smallest subnormal to the largest finite, a dense stretch in [-20, 20], the edges
    of exp's range, and 0.  bfloat16 can be exhaustive."""
    dt = jnp.dtype(dtype)
    info = jnp.finfo(dt)
    if exhaustive and dt.itemsize == 2:
        bits = np.arange(0, 1 << 16, dtype=np.uint16)
        values = bits.view(np.dtype(dt)).astype(np.float64)
        return np.unique(values[np.isfinite(values)])
    tiny_sub = float(info.smallest_subnormal)
    top = float(info.max)
    with np.errstate(over="ignore"):  # exp2 of log2(max) may round past max
        mags = np.exp2(np.linspace(np.log2(tiny_sub), np.log2(top), count // 2))
    mags[-1] = top
    dense = np.linspace(-20.0, 20.0, count // 4)
    # Where exp leaves the normal range: exp(x) or x exp(x) near the smallest normal (silu,
    # mish and sigmoid at -90 in float32) and exp(x) near the largest finite number.
    low = np.linspace(np.log(tiny_sub) - 1.0, np.log(float(info.tiny)) + 4.0, count // 20)
    high = np.linspace(np.log(top) - 2.0, np.log(top), count // 20)
    edges = np.concatenate([low, -low, high, -high])
    pts = np.concatenate([mags, -mags, dense, edges, [0.0]]).astype(dt).astype(np.float64)
    return np.unique(pts[np.isfinite(pts)])


def _ulp(value: np.ndarray, dtype) -> np.ndarray:
    info = jnp.finfo(dtype)
    mag = np.maximum(np.abs(value), float(info.tiny))
    exponent = np.floor(np.log2(mag))
    return np.exp2(exponent - (info.nmant))


@dataclasses.dataclass
class Result:
    name: str
    dtype: str
    value_max_ulp: float
    value_median_ulp: float
    jax_nn_value_max_ulp: float | None
    deriv_max_ulp: float
    deriv_max_mixed: float
    jax_nn_deriv_max_mixed: float | None
    saves: str | None
    points: int
    worst_value_x: float = math.nan
    worst_deriv_x: float = math.nan
    # The derivative in the continuous parameter, at its default (None: it has none).
    param: str | None = None
    param_max_ulp: float | None = None
    param_max_mixed: float | None = None
    jax_nn_param_max_mixed: float | None = None


def _real(m, v) -> float:
    """A float, +-inf, or NaN where the true value is not real (log1mexp of x < 0)."""
    if isinstance(v, m.mpc) or m.isnan(v):
        return math.nan
    return float(v) if m.isfinite(v) else (math.inf if v > 0 else -math.inf)


def _parts(m, v) -> tuple[float, float]:
    """v as hi + lo: its nearest float (as `_real`) and the rest, so that a float64 result is
    judged against the true value, not against the true value rounded to float64 (which
    would make every float64 error a whole number of ulps, off by up to half an ulp)."""
    hi = _real(m, v)
    return hi, float(v - hi) if math.isfinite(hi) else 0.0


@functools.cache
def _truth(name: str, points: tuple, params: tuple = ()) -> tuple[np.ndarray, np.ndarray]:
    """The true values and derivatives at `points`, rounded to float64."""
    (values, _), (derivs, _) = _truth_parts(name, points, params)
    return values, derivs


def _mp_params(m, name: str, params: tuple) -> dict:
    """`params` ((name, value) pairs) as mpf, the defaults for those not given."""
    entry = spec("gelu" if name == "gelu_tanh" else name)
    return {k: m.mpf(v) for k, v in {**entry.default_values, **dict(params)}.items()}


@functools.cache
def _truth_parts(
    name: str, points: tuple, params: tuple = ()
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The true values and derivatives at `points`, each as (hi, lo) arrays (see `_parts`),
    at the parameters `params` ((name, value) pairs; the defaults where not given)."""
    m = _mp()
    p = _mp_params(m, name, params)
    f = _oracles(m, p)[name]
    exact = _exact_derivatives(m, p).get(name)
    values, derivs = [], []
    for p in points:
        x = m.mpf(p)
        try:
            v = f(x)
            # A step relative to |x| (an absolute one vanishes next to x = 1e300, and straddles
            # 0 next to x = 1e-300), one-sided away from 0, with the digits that a tiny x needs
            # for f(x + x t) - f(x) to be resolved.
            scale = abs(x) if x != 0 else m.mpf(1)
            direction = 1 if x > 0 else (-1 if x < 0 else 0)
            # At 0 the central difference's own error, of order h^2, is ~1e-108 at 50 digits:
            # above float64's smallest normal, so a true f'(0) = 0 (tanh_shrink) would read as
            # 1e-108.  At 0 the digits are raised until that error is below every dtype's range.
            extra = 0 if scale >= 1 else int(-m.log10(scale)) + 10
            extra = 400 if x == 0 else extra
            with m.extradps(extra):
                d = (
                    exact(x)
                    if exact is not None
                    else m.diff(lambda t, x=x, s=scale: f(x + s * t), 0, direction=direction)
                    / scale
                )
        except (ValueError, ZeroDivisionError):
            v, d = m.nan, m.nan
        values.append(_parts(m, v))
        derivs.append(_parts(m, d))
    return tuple(tuple(np.array(part) for part in zip(*parts)) for parts in (values, derivs))


@functools.cache
def _parameter_truth(name: str, points: tuple, params: tuple) -> tuple[np.ndarray, np.ndarray]:
    m = _mp()
    _, derivative = _parameter_derivatives(m, _mp_params(m, name, params))[name]
    hi, lo = zip(*(_parts(m, derivative(m.mpf(p))) for p in points))
    return np.array(hi), np.array(lo)


def measure(
    name: str, dtype: str, points: np.ndarray | None = None, against_jax_nn: bool = True
) -> Result:
    """actfn's (and jax.nn's) value and derivative errors for one activation and dtype."""
    entry = spec("gelu" if name == "gelu_tanh" else name)
    fn = (
        functools.partial(entry.function, approximate=True)
        if name == "gelu_tanh"
        else (entry.function)
    )
    pts = grid(dtype) if points is None else np.asarray(points, dtype=np.float64)
    lo, hi = entry.domain
    pts = pts[(pts > lo) & (pts < hi)]
    # Where the derivative is wanted with mpmath.diff, points near kinks are left out.
    # XLA may flush subnormal inputs to zero on CPU (some kernels do, tanh does not): for those
    # the result is judged against the truth at the input and at 0, whichever is closer.
    # (float16 and bfloat16 are computed in float32, so it is float32's threshold for them.)
    seen = np.where(np.abs(pts) < float(jnp.finfo(compute_dtype(dtype)).tiny), 0.0, pts)
    params = rounded_defaults(name, dtype)
    (true_v, true_v_lo), (true_d, true_d_lo) = _truth_parts(name, tuple(pts.tolist()), params)
    (flushed_v, flushed_v_lo), (flushed_d, flushed_d_lo) = _truth_parts(
        name, tuple(seen.tolist()), params
    )
    # At a kink the derivative is the documented one-sided value, not the oracle's average.
    pv = entry.default_values
    at_kink = np.zeros(pts.shape, bool)
    for kink in entry.kinks:
        at_kink |= seen == kink.at(pv)
    true_d = np.where(at_kink, np.nan, true_d)
    flushed_d = np.where(at_kink, np.nan, flushed_d)
    # A flushed input on the edge of the domain (log1mexp at 0): the derivative is its limit.
    flushed_d = np.where(np.isnan(flushed_d) & (seen == lo), np.inf, flushed_d)
    m = _mp()
    by_name = _parameter_derivatives(m, _mp_params(m, name, params))
    param = by_name.get(name, (None,))[0] if name != "gelu_tanh" else None
    jfn = None
    if against_jax_nn and entry.jax_nn:
        jfn = functools.partial(
            getattr(jax.nn, entry.jax_nn),
            **(
                {"approximate": name == "gelu_tanh"}
                if entry.jax_nn == "gelu"
                else dict(entry.jax_nn_kwargs)
            ),
        )
    with jax.enable_x64(dtype == "float64"):
        x = jnp.asarray(pts, dtype=dtype)
        got_v = np.asarray(fn(x), dtype=np.float64)
        got_d = np.asarray(jax.vmap(jax.grad(fn))(x), dtype=np.float64)
        theirs = None
        if jfn is not None:
            theirs = (
                np.asarray(jfn(x), dtype=np.float64),
                np.asarray(jax.vmap(jax.grad(jfn))(x), dtype=np.float64),
            )
        if param is not None:
            # df/dparam at the default, the parameter a scalar of the input's dtype.
            p0 = jnp.asarray(pv[param], dtype=dtype)

            def by_param(f):
                return np.asarray(
                    jax.vmap(jax.grad(lambda v, q: f(v, **{param: q}), 1), (0, None))(x, p0),
                    dtype=np.float64,
                )

            got_p = by_param(fn)
            # jax.nn's function of the same name takes the parameter too (elu, celu, ...)?
            theirs_p = (
                by_param(jfn)
                if jfn is not None and param in inspect.signature(jfn.func).parameters
                else None
            )
    info = jnp.finfo(dtype)
    tv, td = true_v, true_d
    ok_v = ~np.isnan(tv)

    tiny = float(info.tiny)

    big = float(info.max)

    def saturate(error, got, truth):
        # Beyond the largest finite number the right answer is that number or infinity, with
        # the true value's sign: no error if got is one of them, infinite otherwise.
        with np.errstate(invalid="ignore"):
            beyond = np.abs(truth) > big
            saturated = (np.sign(got) == np.sign(truth)) & (np.abs(got) >= big)
        return np.where(beyond, np.where(saturated, 0.0, np.inf), error)

    def value_ulps(got):
        return np.minimum(
            _value_ulps(got, tv, true_v_lo), _value_ulps(got, flushed_v, flushed_v_lo)
        )

    def _value_ulps(got, tv, tv_lo):
        with np.errstate(invalid="ignore", over="ignore"):
            # got - tv is exact where got is near tv (Sterbenz); elsewhere its rounding is
            # far below the error.
            e = np.abs((got - tv) - tv_lo) / _ulp(tv, dtype)
            # A true value below the smallest normal may be returned as 0 (flushed).
            e = np.where((np.abs(tv) < tiny) & (got == 0), 0.0, e)
            e = saturate(e, got, tv)
        return np.where(np.isnan(e), np.inf, e)[ok_v]

    def derivative_errors(got, truths):
        """Strict and mixed errors against the truth at x (or at the flushed x, if closer),
        each truth as (hi, lo)."""
        first = truths[0][0]
        ok = ~np.isnan(first)
        in_range = ok & (np.abs(first) <= float(info.max))
        # The mixed error's scale: the derivative's largest magnitude over the grid.
        scale = np.max(np.abs(first[in_range])) if in_range.any() else 1.0
        strict, mixed = zip(*(_deriv(got, td, td_lo, scale) for td, td_lo in truths))
        return np.minimum.reduce(strict)[ok], np.minimum.reduce(mixed)[ok], ok

    def _deriv(got, td, td_lo, scale):
        with np.errstate(invalid="ignore", over="ignore"):
            error = np.abs((got - td) - td_lo)
            strict = error / _ulp(td, dtype)
            # A true derivative below the smallest normal may be returned as 0 (flushed).
            flushed = (np.abs(td) < tiny) & (got == 0)
            strict = np.where(flushed, 0.0, strict)
            mixed = np.where(flushed, 0.0, error / (float(info.eps) * scale))
            strict, mixed = saturate(strict, got, td), saturate(mixed, got, td)
        return np.where(np.isnan(strict), np.inf, strict), np.where(np.isnan(mixed), np.inf, mixed)

    v = value_ulps(got_v)
    ds, dm, ok_d = derivative_errors(got_d, ((td, true_d_lo), (flushed_d, flushed_d_lo)))
    param_fields = {}
    if param is not None:
        tp = _parameter_truth(name, tuple(pts.tolist()), params)
        tp_flushed = _parameter_truth(name, tuple(seen.tolist()), params)
        ps, pm, _ = derivative_errors(got_p, (tp, tp_flushed))
        param_fields = {
            "param": param,
            "param_max_ulp": float(np.max(ps)),
            "param_max_mixed": float(np.max(pm)),
            "jax_nn_param_max_mixed": (
                None
                if theirs_p is None
                else float(np.max(derivative_errors(theirs_p, (tp, tp_flushed))[1]))
            ),
        }
    worst_value_x = float(pts[ok_v][np.argmax(v)]) if v.size else math.nan
    worst_deriv_x = float(pts[ok_d][np.argmax(dm)]) if dm.size else math.nan
    return Result(
        name=name,
        dtype=dtype,
        value_max_ulp=float(np.max(v)),
        value_median_ulp=float(np.median(v)),
        jax_nn_value_max_ulp=None if theirs is None else float(np.max(value_ulps(theirs[0]))),
        deriv_max_ulp=float(np.max(ds)),
        deriv_max_mixed=float(np.max(dm)),
        jax_nn_deriv_max_mixed=(
            None
            if theirs is None
            else float(
                np.max(
                    derivative_errors(theirs[1], ((td, true_d_lo), (flushed_d, flushed_d_lo)))[1]
                )
            )
        ),
        saves=entry.saves,
        points=int(ok_v.sum()),
        worst_value_x=worst_value_x,
        worst_deriv_x=worst_deriv_x,
        **param_fields,
    )


def run(names=None, dtypes=DTYPES, count: int = 2000, exhaustive: bool = False) -> list[Result]:
    """The accuracy table: every activation with an oracle, every dtype."""
    results = []
    for name in names or (*ORACLE_NAMES, "gelu_tanh"):
        for dtype in dtypes:
            results.append(measure(name, dtype, grid(dtype, count, exhaustive)))
    return results


def table(results: list[Result]) -> str:
    """A markdown table: value and derivative errors, actfn beside jax.nn."""

    def fmt(v):
        return "-" if v is None else (f"{v:.3g}" if math.isfinite(v) else "inf")

    lines = [
        "| activation | dtype | value max ulp | value median ulp | jax.nn value max ulp "
        "| derivative max ulp | derivative mixed | jax.nn derivative mixed | saves "
        "| d/dparam | d/dparam max ulp | d/dparam mixed | jax.nn d/dparam mixed |",
        "|" + "---|" * 13,
    ]
    for r in results:
        lines.append(
            f"| `{r.name}` | {r.dtype} | {fmt(r.value_max_ulp)} | "
            f"{fmt(r.value_median_ulp)} | {fmt(r.jax_nn_value_max_ulp)} | "
            f"{fmt(r.deriv_max_ulp)} | {fmt(r.deriv_max_mixed)} | "
            f"{fmt(r.jax_nn_deriv_max_mixed)} | {r.saves} | "
            + ("-" if r.param is None else f"`{r.param}`")
            + f" | {fmt(r.param_max_ulp)} | {fmt(r.param_max_mixed)} | "
            f"{fmt(r.jax_nn_param_max_mixed)} |"
        )
    return "\n".join(lines)
