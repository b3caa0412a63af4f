"""The Gaussian tail: Phi(-t) and phi(t) for gelu's exact form (and geglu's gate).

Two ways to the same numbers:
* a table (CPU and GPU): Phi(-g) on the grid g = k / 128 as hi + lo with the hazard
  phi(g) / Phi(-g) beside it, and Phi(-t) = Phi(-g) exp(y) with y from the hazard series in
  d = t - g.  float32's table is computed at import from math.erfc; float64's needs 106 bits
  and is data, `gaussian_tail_float64.npy`, written by tools/build_gaussian_tail_table.py.
* a formula (TPU, 16-bit inputs, and gelu's derivative): the scaled Mills ratio from our own
  rational fit (tools/fit_gaussian_tail.py) with the Gaussian's argument split exactly.

Guarantees: gelu's value within 0.6 ulp for x < 0 and 0.75 for x > 0 in float32, 0.97 and
0.75 in float64, down to the last normal number; its derivative within 4 mixed ulp (8 next to
its zero).  Held by tests/test_accuracy.py: test_gelu_table_entries_against_the_oracle,
test_the_float64_table_is_what_its_tool_writes,
test_gelu_tables_are_for_cpu_and_gpu_and_tpu_keeps_the_formula,
test_the_fitting_scripts_reproduce_the_constants_in_the_code, and gelu's and geglu's rows of
the value and derivative tests.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from actfn._numerics.exact import two_product
from actfn._numerics.policy import dtype_kind, lookup, narrow_input
from actfn._numerics.roots import near_root
from actfn._numerics.series import economized, expm1_series, horner

SQRT_2 = math.sqrt(2.0)


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# The scaled Mills ratio R(t) = Phi(-t) exp(t^2 / 2) is written K / (t + T(t)), K = 1 / sqrt(2 pi)
# rounded to the dtype, and T(t) = K / R(t) - t (0.80 at 0, ~ 1/t for large t) is P(t) / Q(t),
# our own minimax fits (tools/fit_gaussian_tail.py; max relative error 2.5e-11 on [0, 14] and
# 2e-20 on [0, 40]).  T absorbs K's own rounding (0.24 eps in float32: a bias in every result,
# 3.4 -> 3.0 ulp), T's rounding reaches R damped by T / (t + T), and P and Q have positive
# coefficients: Horner's rule on t >= 0 does not cancel.
TAIL_FITS = {
    "float32": (
        14.0,
        (0.797884583454716, 0.582068055906926, 0.22607392608532437, 0.05191921604291726,
         0.007006056085833488, 0.0004473130073687729, 1.447377322787616e-09),
        (1.0, 1.1849436415157781, 0.6863802340025991, 0.239755989544717, 0.05283960221714817,
         0.007004601870265012, 0.0004473664432467687),
    ),
    "float64": (
        40.0,
        (0.7978845608028654, 1.154177236623561, 0.8500629228715139, 0.41107234216948935,
         0.1432727287643116, 0.037524571779206255, 0.007507602754961495,
         0.0011458563113825283, 0.0001308489616561761, 1.0679443317751877e-05,
         5.63966756688802e-07, 1.4750350924845077e-08, 3.7197988799665917e-22),
        (1.0, 1.901976224140681, 1.7949923327725132, 1.0968217701290899, 0.4796889979518139,
         0.15752651425739453, 0.039752827881027394, 0.007765916852832323,
         0.0011671266967145457, 0.00013197689514915067, 1.0708944019999312e-05,
         5.639667566830962e-07, 1.4750350924900506e-08),
    ),
}  # fmt: skip


# The Gaussian's argument t^2 / 2 is split at g = t rounded to this grid, fine enough that g^2
# is exact (t <= 14 in 11 bits of float32, t <= 40 in 22 bits of float64).
_SPLIT = {"float32": 128.0, "float64": 65536.0}


# Beyond this t, exp(-t^2 / 2) is below the smallest normal while gelu'(x) is not: there the
# exponential is scaled by exp(16) and the result by exp(-16).
_FAR = {"float32": 13.0, "float64": 37.0}


def gaussian_tail(x):
    """x clipped, and the pieces of Phi(-|x|) = e s c and phi(x) = e (1 + q) c / sqrt(2 pi).

    With t = |x| and g = t rounded to a grid on which g^2 is exact, e = exp(-g^2 / 2) has an
    exact argument, and exp(-(t^2 - g^2) / 2) = 1 + q with q = expm1(d), d = -(t - g)(t + g) / 2,
    a few terms of its series (|d| < 0.06).  s = R(t) (1 + q), with R the rational fit of the
    scaled Mills ratio above; c is 1 but in the far tail (see _FAR).  Rounding t^2 instead would
    cost t^2 / 2 ulps: the 53 (float32) and 340 (float64) ulps of erfc-based gelu.
    """
    kind = dtype_kind(x)
    top, p, q_fit = TAIL_FITS[kind]
    t = jnp.minimum(jnp.abs(x), top)  # beyond, Phi(-t) and phi are 0 in the dtype anyway
    g = jnp.round(t * _SPLIT[kind]) / _SPLIT[kind]
    d = -0.5 * ((t - g) * (t + g))
    q = jnp.zeros_like(d)
    for n in range(5, 0, -1):
        q = d / float(n) * (1.0 + q)
    far = t > _FAR[kind]
    e = jnp.exp(jnp.where(far, 16.0, 0.0) - 0.5 * (g * g))
    c = jnp.where(far, math.exp(-16.0), 1.0)
    r = _INV_SQRT_2PI / (t + horner(p, t) / horner(q_fit, t))
    # x clipped to where the tail is 0 anyway keeps -inf * 0 out of the products.
    return jnp.clip(x, -top, top), e, q, r + r * q, c


# Below this |x|, Phi(x) = 1/2 + x Q(x^2) cancels by less than a factor of 0.6 and is more
# accurate than the tail's chain of roundings (float32: 1.0 against 3.2 ulp; float32 values
# take the table below instead, gelu' and float64 values this).  Q is erf's
# series, Q(t) = sum (-1)^k t^k / (2^k k! (2k + 1)) / sqrt(2 pi), economized by Chebyshev's
# truncation on [0, 1/4]: 5 terms in float32 and 9 in float64, within 0.001 eps.  (XLA's erf
# is a rational function with a division: the polynomial makes gelu's forward and backward
# passes cheaper on CPU.)
_CENTRE = 0.5


_ERF_SERIES = tuple(
    (-1.0) ** k / (2.0**k * math.factorial(k) * (2 * k + 1)) * _INV_SQRT_2PI for k in range(24)
)


_CENTRE_SERIES = {
    "float32": economized(_ERF_SERIES, _CENTRE**2, 5),
    "float64": economized(_ERF_SERIES, _CENTRE**2, 9),
}


def _centre_cdf(x):
    xs = jnp.where(jnp.abs(x) < _CENTRE, x, 0.0)  # the polynomial only sees the centre
    return 0.5 + xs * horner(_CENTRE_SERIES[dtype_kind(x)], xs * xs)


# gelu's value takes Phi(-t) from a table on the grid g = k / 128 and the hazard
# H(g) = phi(g) / Phi(-g) beside it: float32 up to 14 (Phi(-14) 2^64 is normal; float32's own
# Phi(-t) is not beyond 13), Phi(-g) scaled by 2^64 as hi + lo, 1,793 entries of each, 21 KiB;
# float64 up to 38 (where x Phi(x) leaves the normal range), scaled by 2^128 (the low half of
# Phi(-38) 2^128 is normal), 4,865 entries, 114 KiB.  float64's erfc gives float32's entries to
# 2^-45 at import (g / sqrt 2's rounding costs g^2 2^-53), far below float32's last bit;
# float64's need 106 bits and are data (tools/build_gaussian_tail_table.py, mpmath at 40
# digits).  The formula's chain of roundings (exp, the Mills-ratio fit, its division, two
# products: 3.4 ulp on a dense grid in float32 and float64) becomes one exact product and a
# small correction: float32 0.6 ulp for x < 0, 0.75 for x > 0 (where x - x Phi(-x) halves at
# most), float64 0.97 and 0.75, with no centre polynomial.  Three gathers cost about as much as
# the exp and divisions they replace (the forward pass is 10-20% slower on this project's CPU;
# XLA fuses them: 20 bytes moved per element, as before).  The derivative keeps the formula (its
# target is 8 ulp).
TABLE_STEP, T_SCALE = 128.0, 2.0**32


class _TailTable(NamedTuple):
    hi: np.ndarray  # Phi(-g) scale, rounded
    lo: np.ndarray  # the rest of Phi(-g) scale
    hazard: np.ndarray  # phi(g) / Phi(-g)
    top: float  # the last g
    scale: float
    order: int  # the terms of log Phi(-(g + d)) - log Phi(-g) in d
    terms: int  # of exp(y) - 1


def _build_gaussian_tail_table() -> _TailTable:
    g = np.arange(int(14.0 * TABLE_STEP) + 1) / TABLE_STEP
    tail = np.array([0.5 * math.erfc(v / math.sqrt(2.0)) for v in g])
    scaled = tail * 2.0**64
    hi = scaled.astype(np.float32)
    lo = (scaled - hi).astype(np.float32)
    hazard = (np.exp(-0.5 * g * g) * _INV_SQRT_2PI / tail).astype(np.float32)
    return _TailTable(hi, lo, hazard, 14.0, 2.0**64, 3, 5)


def _load_gaussian_tail_table() -> _TailTable:
    with resources.files("actfn._numerics").joinpath("gaussian_tail_float64.npy").open("rb") as f:
        hi, lo, hazard = np.load(f)
    # |y| < 0.15 (H d at g = 38): d^6 and 13 terms of its exp reach 2^-60.
    return _TailTable(hi, lo, hazard, 38.0, 2.0**128, 6, 13)


GAUSSIAN_TAIL_TABLE = {
    "float32": _build_gaussian_tail_table(),
    "float64": _load_gaussian_tail_table(),
}


def table_grid(x, top: float, size: int):
    """t = min(|x|, top), its nearest grid point g = k / 128, d = t - g, and k as an index into
    a table of `size` entries (clipped for NaN, whose integer conversion is arbitrary; the
    result is NaN anyway)."""
    t = jnp.minimum(jnp.abs(x), top)
    k = jnp.round(t * TABLE_STEP)
    g = k / TABLE_STEP
    return t, g, t - g, jnp.clip(k.astype(jnp.int32), 0, size - 1)


def _hazard_series(h, g, d, order: int):
    """y = log Phi(-(g + d)) - log Phi(-g) = -(H d + H' d^2 / 2 + ...) to d^order, with
    H' = H (H - g) and each further derivative of the hazard from the ones before."""
    u = 2.0 * h - g
    h1 = h * (h - g)
    h2 = h1 * u - h
    derivatives = [h, h1, h2]
    if order > 3:
        h3 = h2 * u + 2.0 * h1 * (h1 - 1.0)
        h4 = h3 * u + h2 * (6.0 * h1 - 3.0)
        derivatives += [h3, h4, h4 * u + h3 * (8.0 * h1 - 4.0) + 6.0 * h2 * h2]
    acc = derivatives[order - 1] / float(math.factorial(order))
    for k in range(order - 2, 0, -1):
        acc = derivatives[k] / float(math.factorial(k + 1)) + d * acc
    return -d * (h + d * acc)


def _t_gaussian_tail_scaled(x):
    """t Phi(-t) scale 2^32, t = min(|x|, top), as p + e, from the table of x's dtype.

    With g the grid point nearest t and d = t - g (|d| <= 1/256), Phi(-t) = Phi(-g) exp(y),
    y = log Phi(-(g + d)) - log Phi(-g) by its series (|y| < 0.06 in float32, 0.15 in float64);
    exp(y) = 1 + c by its own.  c reaches the result damped by |c|; t Phi(-g) is exact (Dekker)
    and the small terms are summed before the one rounding.
    """
    table = GAUSSIAN_TAIL_TABLE[dtype_kind(x)]
    t, g, d, i = table_grid(x, table.top, table.hi.shape[0])
    a, b, h = lookup(table.hi, i), lookup(table.lo, i), lookup(table.hazard, i)
    c = expm1_series(_hazard_series(h, g, d, table.order), table.terms)
    # t 2^32 keeps the exact product's halves normal next to t = 0 (the low half of a t near
    # the smallest normal would flush, and p + e would lose 2^-12 of the product).
    ts = t * T_SCALE
    p, e = two_product(ts, a)
    tb = ts * b
    return p, e + tb + (p * c + tb * c)


def x_times_gate(x, w, top, scale):
    """x G(x) for a gate with G(x) = 1 - G(-x), from w = t G(-t) scale, t = min(|x|, top): -w
    for x < 0 and x - w for x >= 0, scaled back last.  x - w is taken at the table's scale
    too: x / 2 next to 0 would lose its last bits to a subnormal (flushed) w.  Beyond `top`,
    x G(-x) is below x's rounding, and below the smallest subnormal for x < 0 (w, taken at
    top, is not: -0 there, whether or not the device flushes subnormals)."""
    positive = jnp.where(x < top, x * scale - w, x)
    y = jnp.where(x < 0.0, -w, positive) * jnp.where(x < top, 1.0 / scale, 1.0)
    return jnp.where(x < -top, -0.0, y)


def tabled(x, table, formula, kinds=("float32",)):
    """`table(x)` for an input of `kinds` on CPU and GPU, `formula(x)` elsewhere: on TPU, where
    gathers of per-element indices are known to be slow (not measured here), and for a 16-bit
    input (the formula's few float32 ulp vanish in its final rounding, and gelu's is 10-20%
    faster on this project's CPU)."""
    if dtype_kind(x) not in kinds or narrow_input():
        return formula(x)
    return jax.lax.platform_dependent(x, tpu=formula, default=table)


def _gelu_exact_from_table(x):
    p, e = _t_gaussian_tail_scaled(x)
    table = GAUSSIAN_TAIL_TABLE[dtype_kind(x)]
    return x_times_gate(x, p + e, table.top, table.scale * T_SCALE)


def gelu_exact(x):
    # x Phi(x), with Phi(x) = 1 - Phi(-x) for x >= 0: Phi(-|x|) keeps its relative accuracy
    # down to the last normal number (1 + erf(x / sqrt 2) cancels to 0 there).
    return tabled(x, _gelu_exact_from_table, _gelu_exact_formula, ("float32", "float64"))


def _gelu_exact_formula(x):
    # Phi(-|x|) = e s c, (x e) s first: e s is subnormal (flushed) where x e s is not.
    near, e, _, s, c = gaussian_tail(x)
    tails = jnp.where(x < 0.0, ((near * e) * s) * c, x * (1.0 - (e * s) * c))
    return jnp.where(jnp.abs(x) < _CENTRE, x * _centre_cdf(x), tails)


def gelu_exact_derivative(x):
    # Phi(x) + x phi(x) = e (s + x (1 + q) / sqrt(2 pi)) c for x < 0.
    near, e, q, s, c = gaussian_tail(x)
    x_phi = (near * (1.0 + q)) * _INV_SQRT_2PI
    tails = jnp.where(x < 0.0, (e * (s + x_phi)) * c, 1.0 - (e * (s - x_phi)) * c)
    # f' = 0 at x = -0.752: there from a polynomial in x - x0.
    return near_root("gelu", x, jnp.where(jnp.abs(x) < _CENTRE, _centre_cdf(x) + e * x_phi, tails))
