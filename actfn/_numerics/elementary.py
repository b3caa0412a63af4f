"""Elementary functions more accurate than XLA's, on CPU and GPU alike.

Guarantees (ulp of the result, on dense grids):
* `exp_parts(x)`: float64 exp(x) as hi + lo within 0.15 ulp in EXP_PARTS_RANGE, hi alone
  within 0.61 (XLA's exp: 1.45); `exp` is that hi in float64 and XLA's exp in float32.
* `expm1`: within 1.7 ulp in float32 and 0.75 in float64 (XLA's: 3.8 and 3).
* `log1p(u)` for -1/2 <= u <= 1: within 1.5 ulp in float32 and 1 in float64.
* `accurate_tanh`: within 1.3 ulp in float32 and 1.1 in float64 (XLA's: 4.5 and 6.5).
* `times_gate(x, g)`: x g, with the limit 0 where an infinite x meets a gate that is 0.

Held by tests/test_accuracy.py: test_float64_exp_as_hi_plus_lo_against_the_oracle, and the
value and derivative tests of tanh, softplus, log_sigmoid, log1mexp, elu and celu against
mpmath (test_values_within_target, test_values_on_a_dense_grid, ...).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from actfn._numerics.exact import two_product, two_sum
from actfn._numerics.policy import dtype_kind, narrow_input
from actfn._numerics.series import TANH_SHRINK_SERIES, economized, horner

# ln 2 as hi + lo with hi's low 11 bits 0, so that k hi is exact for |k| < 2^11 (Cody and Waite).
_LN2_HI = 0.6931471805598903


_LN2_LO = 5.497923018708371e-14


# exp(r) = 1 + r + r^2 (1/2 + r/6 + ...) for |r| <= ln(2) / 2: to r^13 (the next term is 4e-18).
_EXP_SERIES = tuple(1.0 / math.factorial(n) for n in range(2, 14))


# Where the reduction's 2^k (k = x / ln 2 rounded) is a normal float64.
EXP_PARTS_RANGE = (-708.39, 709.43)


def exp_parts(x):
    """exp(x) as hi + lo (float64), together within 0.15 ulp of exp(x) in EXP_PARTS_RANGE;
    beyond it, where the result is below the normal range or next to overflow, XLA's exp and 0.

    XLA's float64 exp is up to 1.45 ulp off, and whatever follows it adds its own roundings:
    log1mexp 2.5 ulp and sigmoid 2 near x = 1 and in the left tail.  Here x = k ln 2 + r with
    r = (x - k ln2_hi) - k ln2_lo as hi + lo (the first difference exact); exp(r) = (1 + r) +
    (r_lo + r^2 P(r) + r r_lo), whose small second part carries the series' roundings damped,
    and 1 + r is exact as a sum and its error.  2^k is exact.
    """
    low, high = EXP_PARTS_RANGE
    inside = (x >= low) & (x <= high)
    xs = jnp.where(inside, x, 0.0)
    k = jnp.round(xs * (1.0 / math.log(2.0)))
    # r + r_lo = (x - k ln2_hi) - k ln2_lo with r_lo below half an ulp of r (k ln2_lo itself
    # reaches 2^-34: its products with r would not be negligible).
    r, r_lo = two_sum(xs - k * _LN2_HI, -(k * _LN2_LO))
    tail = r_lo + (r * r * horner(_EXP_SERIES, r) + r * r_lo)
    one, one_lo = two_sum(1.0, r)
    hi, lo = two_sum(one, one_lo + tail)
    scale = jax.lax.bitcast_convert_type((k.astype(jnp.int64) + 1023) << 52, jnp.float64)
    return jnp.where(inside, hi * scale, jnp.exp(x)), jnp.where(inside, lo * scale, 0.0)


def exp(x):
    """exp(x): XLA's in float32 (within 0.92 ulp), and in float64 `exp_parts`' hi, within 0.61
    ulp where XLA's is 1.45 off (and 1 next to the smallest normal)."""
    return exp_parts(x)[0] if x.dtype == jnp.float64 else jnp.exp(x)


def expm1_minus_x_series(xs):
    """exp(x) - 1 - x = (x^2 / 2)(1 + x/3 (1 + x/4 (...))) for |x| < log 2, without the
    cancellation of the difference: expm1's series part (10 terms in float32, 17 in float64)."""
    terms = 17 if xs.dtype == jnp.float64 else 10
    acc = jnp.ones_like(xs)
    for n in range(terms, 2, -1):
        acc = 1.0 + acc * xs / float(n)
    return (xs * xs * 0.5) * acc


def expm1(x):
    """exp(x) - 1 within 1.7 ulp in float32 and 0.75 in float64 (XLA's expm1: 3.8 and 3), and
    about twice as fast on CPU.

    For |x| < log 2 its Taylor series, x + (x^2 / 2)(1 + x/3 (1 + x/4 (...))): the inner sums
    are near 1 and the correction to x is at most 0.4 of it, so their roundings are damped
    (10 terms reach float32's eps at |x| = log 2, 17 float64's).  Beyond, exp(x) - 1 subtracts
    exactly (Sterbenz) or leaves a |result| >= 1/2; in float64 from `exp_parts`, rounded once.
    """
    small = jnp.abs(x) < math.log(2.0)
    xs = jnp.where(small, x, 0.0)  # the series only sees small arguments
    # x itself where it is 0 (or flushed): the sum would turn -0 into +0, and 1 / expm1 needs it.
    series = jnp.where(xs == 0.0, xs, xs + expm1_minus_x_series(xs))
    beyond = jnp.exp(x) - 1.0
    if x.dtype == jnp.float64:
        # exp(x) as hi + lo, and hi - 1 as a sum and its error (Knuth): one rounding in all.
        hi, lo = exp_parts(x)
        s, error = two_sum(hi, -1.0)
        beyond = s + (error + lo)
    return jnp.where(small, series, beyond)


def log1p(u):
    """log(1 + u) for -1/2 <= u <= 1: within 1.5 ulp in float32 and 1 in float64, and on CPU
    about twice as fast as XLA's (whose float64 log1p is 120 ulp off near -0.41).

    log1p(u) = 2 atanh(z), z = u / (2 + u) in [-1/3, 1/3]: the odd series t (1 + z^2/3 +
    z^4/5 + ...) with t = 2z = 2u / (2 + u).  t carries its rounding error as t_lo, from the
    remainder 2u - t (2 + u) = 2 (u - t) - t u: u - t is exact (t is within a factor of 2 of
    u), t u is exact as p + p_lo (Dekker), and 2 (u - t) - p is exact (the two are equal but
    for the remainder).  So only the final sum rounds in full.  (The remainder was once
    2u - t d - t d_lo with d_lo = u - ((2 + u) - 2), Fast2Sum's error of d = 2 + u: XLA folds
    the two constants of (u + 2) - 2 and d_lo came out 0, which cost float64 1.4 ulp.)
    """
    d = 2.0 + u
    # One division, its result used twice: with two, XLA's CPU backend splits the loop (44
    # bytes moved per element in softplus's forward+backward instead of 20).
    inverse = 1.0 / d
    t = (2.0 * u) * inverse
    p, p_lo = two_product(t, u)
    t_lo = ((2.0 * (u - t) - p) - p_lo) * inverse
    z2 = 0.25 * (t * t)
    acc = jnp.zeros_like(u)
    for k in range(16 if u.dtype == jnp.float64 else 8, 0, -1):  # (1/9)^k / (2k + 1) < eps
        acc = acc * z2 + 1.0 / (2 * k + 1)
    return t + (t_lo + t * (z2 * acc))


def times_gate(x, gate):
    """x * gate with the limit 0 where an infinite x meets a gate that is exactly 0.

    silu, gelu, mish and the gated units at x = -inf are -inf * 0 = NaN as written; their
    limit is 0.  NaN still propagates (only an infinite x is special-cased).
    """
    return jnp.where(jnp.isinf(x) & (gate == 0), 0.0, x * gate)


# tanh: x - x^3 P(x^2) below 0.625 (float32) or 0.7 (float64), exp above (where
# 2 / (1 + exp(2|x|)) is below 0.45 of 1, so its roundings reach tanh damped).  P is the series
# economized by Chebyshev's truncation on [0, switch^2]: 6 terms (within 0.01 eps; the Taylor
# series needs 8) and 13 (within 0.1 eps).
_TANH_SWITCH = {"float32": 0.625, "float64": 0.7}


_TANH_NEAR = {
    "float32": economized(TANH_SHRINK_SERIES, _TANH_SWITCH["float32"] ** 2, 6),
    "float64": economized(TANH_SHRINK_SERIES, _TANH_SWITCH["float64"] ** 2, 13),
}


def upto_20(a):
    # min(a, 20) with the derivative 1 at a = 20 itself (jnp.minimum splits a tie in half).
    return jnp.where(a > 20.0, 20.0, a)


def accurate_tanh(x):
    """tanh within 1.3 ulp in float32 and 1.1 in float64 (XLA's: 4.5 and 6.5 on dense grids).

    Below |x| = 0.625 (float32) or 0.7 (float64) the odd series x - x^3 P(x^2); beyond,
    1 - 2 / (1 + exp(2|x|)) with the sign of x, whose small subtrahend carries exp's rounding
    damped.  (float64 once used -expm1(-2a) / (2 + expm1(-2a)) everywhere: 2.5 ulp where tanh
    is near 1, since 2 + expm1(-2a) is near 1 and its rounding is a whole ulp of the result.)
    """
    if narrow_input():
        return jnp.tanh(x)  # rounded to bfloat16/float16 it is correctly rounded already
    kind = dtype_kind(x)
    a = jnp.abs(x)
    small = a < _TANH_SWITCH[kind]
    xs = jnp.where(small, x, 0.0)  # x^2 stays finite in the untaken branch (grad of grad)
    x2 = xs * xs
    near = xs - (xs * x2) * horner(_TANH_NEAR[kind], x2)
    # Beyond a = 20, tanh is 1 in float32 and float64 alike: the clip keeps exp finite, and so
    # the derivative of this expression (tanh_shrink's second derivative) is 0, not inf / inf.
    far = 1.0 - 2.0 / (1.0 + exp(2.0 * upto_20(a)))
    # (Selects, not sign(x) * far: float32 forward 2.0 -> 1.8 of XLA's tanh time on CPU, with
    # the shorter P.)
    return jnp.where(small, near, jnp.where(x < 0.0, -far, far))
