"""gelu's tanh form: x sigmoid(z), z = C1 x + C3 x^3, without the cancellation of jax.nn's.

float32 takes sigmoid(-z(g)) from a table on the grid g = k / 128 (computed at import from
float64) and one exact product; float64 (and a 16-bit input) builds z in double words from
exact products, and exp(|z|) as hi + lo, since exp multiplies z's absolute rounding into its
relative error.  Guarantees: value within 0.75 ulp in float32 (table) and 2 in float64;
derivative within 4 mixed ulp (8 next to its zero at -0.752, see `roots`).

Held by tests/test_accuracy.py: test_gelu_tanh_table_entries_against_the_oracle,
test_gelu_tables_are_for_cpu_and_gpu_and_tpu_keeps_the_formula, and the gelu_tanh rows of the
value, derivative and dense-grid tests.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import jax.numpy as jnp
import numpy as np

from actfn._numerics.elementary import exp, exp_parts
from actfn._numerics.exact import decimal_pi, rounded, split_constant, two_product, two_sum
from actfn._numerics.gaussian import T_SCALE, TABLE_STEP, table_grid, tabled, x_times_gate
from actfn._numerics.policy import dtype_kind, lookup, narrow_input
from actfn._numerics.roots import near_root
from actfn._numerics.series import expm1_series

TANH_GELU_C = math.sqrt(2.0 / math.pi)


TANH_GELU_K = 0.044715


# gelu's tanh form: z = C1 x + C3 x^3, C1 = 2 sqrt(2/pi), C3 = C1 0.044715, each as hi + lo.
with localcontext() as _context:
    _context.prec = 60
    _PI = decimal_pi(60)
    _C1 = 2 * (2 / _PI).sqrt()
    _C3 = _C1 * Decimal("0.044715")


_GELU_TANH_C = {
    dtype: (split_constant(_C1, dtype), split_constant(_C3, dtype))
    for dtype in ("float32", "float64")
}


# Beyond |x| = 12 (float32) or 30 (float64), sigmoid(z) is 0 or 1 to the last subnormal.
_GELU_TANH_CLIP = {"float32": 12.0, "float64": 30.0}


# Beyond |z| = far_at, exp(|z|) is computed over e^shift, up to the exponent top: x e^-(top +
# shift) is below the smallest subnormal for |x| <= the clip above.  e^-shift rounds to within
# 0.03 eps (float32) and 0.01 eps (float64).
_GELU_TANH_FAR = {"float32": (80.0, 41.0, 85.0), "float64": (700.0, 86.0, 700.0)}


def _gelu_tanh_gates(x):
    """1 + exp(|z|) as q + q_lo (q_lo None but in float64), z = C1 x + C3 x^3 with z carried as
    hi + lo; a scale c; z >= 0; x clipped.

    (float64, and plain z for a 16-bit input; float32 takes the table above.)

    exp multiplies z's absolute rounding into its relative error (z = -87 at the end of
    float32's range: 49 ulp from rounding z alone, 470 in float64), so z = x w, w = C1 + C3 x^2,
    is built from exact products (Dekker) and one exact sum (Knuth): within 1e-12 of z in
    float32.  (Horner's form: 74 flops per element for the forward pass, against 85 for
    C1 x + C3 x^3 with three exact products.  An earlier form, an exact sum with the constant
    first, lost its error term once compiled by XLA; the dense-grid tests would show such a
    loss.)
    """
    kind = dtype_kind(x)
    (c1, c1_lo, _), (c3, c3_lo, c3_halves) = _GELU_TANH_C[kind]
    xc = jnp.clip(x, -_GELU_TANH_CLIP[kind], _GELU_TANH_CLIP[kind])
    if narrow_input():
        # For a bfloat16/float16 result, z's rounding (49 float32 ulp at most) is invisible.
        return _gelu_tanh_exp(c1 * xc + c3 * (xc * (xc * xc)), 0.0, kind) + (xc,)
    x2, x2_lo = two_product(xc, xc)
    p, p_lo = two_product(c3, x2, c3_halves)
    w, w_lo = two_sum(rounded(p), c1)
    w_lo = w_lo + (c1_lo + (p_lo + (c3 * x2_lo + c3_lo * x2)))
    z, z_lo = two_product(xc, w)
    z_lo = z_lo + xc * w_lo
    # E = exp(|z|) = exp(|hi|) (1 + sign(hi) lo), returned as q = 1 + E; small = sigmoid(-|z|)
    # = 1 / q rounds once (e / (1 + e) with e = exp(-|z|) would round thrice), and big =
    # 1 - small cannot cancel.  Where small would be subnormal, E is computed over e^shift and
    # `c` = e^-shift is for the caller to multiply in last.  The exponent stops at `top`, where
    # small c is below the smallest subnormal anyway, so that E stays finite (the second
    # derivative differentiates 1 / (1 + E): inf / inf).
    return _gelu_tanh_exp(z, z_lo, kind) + (xc,)


def _gelu_tanh_exp(z, z_lo, kind):
    far_at, shift, top = _GELU_TANH_FAR[kind]
    a = jnp.abs(z)
    far = a > far_at
    exponent = a - jnp.where(far, shift, 0.0)
    exponent = jnp.where(exponent > top, top, exponent)
    c = jnp.where(far, math.exp(-shift), 1.0)
    d = jnp.sign(z) * z_lo
    if kind != "float64":
        # E = e0 (1 + d): q = 1 + E is summed as (1 + e0) + e0 d, one rounding fewer than
        # 1 + e0 (1 + d) (float32 2.5 -> 2.1 ulp).
        e0 = exp(exponent)
        return (1.0 + e0) + e0 * d, None, c, z >= 0.0
    # float64: q + q_lo = 1 + E, from exp as hi + lo and an exact sum, for the caller to
    # divide by to first order (each of them rounded: 2.25 ulp in the left tail).
    e0, e0_lo = exp_parts(exponent)
    q, q_lo = two_sum(1.0, e0)
    return q, q_lo + (e0_lo + e0 * d), c, z >= 0.0


# float32 (not a 16-bit input): sigmoid(-|z|) from a table instead of the double-word z.  On
# the grid g = k / 128 up to the clip, S(g) = sigmoid(-z(g)) 2^64 as hi + lo (float64's z(g),
# up to 142, gives it to 2^-43: a 2^-19 ulp of float32).  With d = t - g,
# z(t) - z(g) = D = d (z'(g) + d (3 C3 g + d C3)) is below 0.13 and exact enough in float32,
# and S(t) = S(g) (1 + C) with C = u (1 - s) / (1 + u s), s = sigmoid(-z(g)) = S(g) 2^-64 and
# u = expm1(-D) by its series: C reaches the result damped by |C|, and s from the table's hi
# is plenty (an exp(-z(g)) column, C = u / (1 + exp(-z(g)) (1 + u)), cost a third gather).
# Then t S(g) is an exact product, as in gelu's table (the double-word z and its exp, 1 + E
# and the division each rounded: 2.6 ulp on a 20,000-point grid, now 0.75).
_GELU_TANH_SCALE = 2.0**64


def _build_gelu_tanh_table() -> tuple[np.ndarray, np.ndarray]:
    g = np.arange(int(_GELU_TANH_CLIP["float32"] * TABLE_STEP) + 1) / TABLE_STEP
    e = np.exp(-(float(_C1) * g + float(_C3) * g**3))
    scaled = e / (1.0 + e) * _GELU_TANH_SCALE
    hi = scaled.astype(np.float32)
    return hi, (scaled - hi).astype(np.float32)


GELU_TANH_TABLE = _build_gelu_tanh_table()


def _gelu_tanh_sigmoid_scaled(x):
    """(S hi, S lo) with S = sigmoid(-|z|) 2^64, z = C1 x + C3 x^3 (float32), and t = |x| and
    x clipped, from the table."""
    hi, lo = GELU_TANH_TABLE
    top = _GELU_TANH_CLIP["float32"]
    t, g, d, i = table_grid(x, top, hi.shape[0])
    c1, c3 = float(_C1), float(_C3)
    u = expm1_series(-d * ((c1 + (3.0 * c3) * (g * g)) + d * ((3.0 * c3) * g + d * c3)), 6)
    a, b = lookup(hi, i), lookup(lo, i)
    s = a * (1.0 / _GELU_TANH_SCALE)  # (0 where below the normal range: C = u there)
    c = (u * (1.0 - s)) / (1.0 + u * s)
    return a, b + (a + b) * c, t, jnp.clip(x, -top, top)


def _gelu_tanh_from_table(x):
    # t S exact (t 2^32 keeps its halves normal), at the scale 2^96.
    s_hi, s_lo, t, _ = _gelu_tanh_sigmoid_scaled(x)
    ts = t * T_SCALE
    p, e = two_product(ts, s_hi)
    y = x_times_gate(x, p + (e + ts * s_lo), _GELU_TANH_CLIP["float32"], _GELU_TANH_SCALE * T_SCALE)
    return jnp.where(jnp.abs(x) < 2.0**-60, 0.5 * x, y)


def gelu_tanh(x):
    # x sigmoid(z): (1 + tanh(z/2)) / 2 = sigmoid(z) has no cancellation for negative x, where
    # jax.nn's tanh form rounds to 0.
    return tabled(x, _gelu_tanh_from_table, _gelu_tanh_formula)


def _gelu_tanh_formula(x):
    # For z < 0, x / (1 + E) rounds twice, and (x small) c keeps the product normal where it
    # is.  For z >= 0, x - x / q: x / q's roundings reach y damped by 1 / E (x (1 - 1 / q)
    # rounds q, 1 / q, the difference and the product: float32 2.9 -> 1.9 ulp next to 0).
    # Below 2^-60, where x / q would be subnormal next to the smallest normal x, y = x / 2
    # (z / 4 is below the rounding).  One division for both sides: beyond the clip, x / q and
    # xc / q are both below x's rounding, and xc keeps v finite, so that x = +inf gives inf
    # and x = -inf gives -0.
    q, q_lo, c, positive, xc = _gelu_tanh_gates(x)
    v = xc / q
    if q_lo is not None:
        # x / (q + q_lo) with the division's own remainder: x - v q exactly (Dekker; x - p
        # is exact, p being within an ulp of x).  v may be near the smallest normal, so the
        # product is taken as (v 2^64) (q 2^-64), whose halves stay normal, and the
        # correction, 2^-52 of v, is added at the scale 2^64.
        vs = v * _GELU_TANH_SCALE
        p, p_lo = two_product(vs, q * (1.0 / _GELU_TANH_SCALE))
        rest = ((xc - rounded(p)) - p_lo) - v * q_lo
        v = (vs + (rest * _GELU_TANH_SCALE) / q) * (1.0 / _GELU_TANH_SCALE)
    v = v * c
    y = jnp.where(positive, x - v, v)
    return jnp.where(jnp.abs(x) < 2.0**-60, 0.5 * x, y)


def _gelu_tanh_derivative_from_table(x):
    # With S = sigmoid(-|z|) (scaled by 2^64 as s; S itself may be subnormal where f' is not)
    # and B = 1 - S = sigmoid(|z|): f' = (s (1 + x B z')) 2^-64 for x < 0 and B + x S B z'
    # for x >= 0.  Beyond the clip S is 0 (or flushed): f' is 0 or 1.
    s_hi, s_lo, _, xc = _gelu_tanh_sigmoid_scaled(x)
    s = s_hi + s_lo
    small = s * (1.0 / _GELU_TANH_SCALE)
    big = 1.0 - small
    slope = (2.0 * TANH_GELU_C) * (1.0 + 3.0 * TANH_GELU_K * jnp.square(xc))
    return jnp.where(
        x < 0.0,
        (s * (1.0 + (xc * big) * slope)) * (1.0 / _GELU_TANH_SCALE),
        big + ((xc * small) * big) * slope,
    )


def _gelu_tanh_derivative_formula(x):
    # s + x s t z', z' = C1 + 3 C3 x^2, s = sigmoid(z), t = sigmoid(-z); small (and for x < 0
    # also s) carries the e^shift scale, removed last.  Beyond |x| = 1e4, s t is an exact 0;
    # clipping there keeps x^3 from being inf (0 * inf).
    q, q_lo, c, positive, _ = _gelu_tanh_gates(x)
    small = 1.0 / q
    if q_lo is not None:
        scaled = small * _GELU_TANH_SCALE  # (as above: the correction is 2^-52 of small)
        small = (scaled - scaled * (q_lo * small)) * (1.0 / _GELU_TANH_SCALE)
    big = 1.0 - small * c
    xc = jnp.clip(x, -1e4, 1e4)
    slope = (2.0 * TANH_GELU_C) * (1.0 + 3.0 * TANH_GELU_K * jnp.square(xc))
    return jnp.where(
        positive, big + ((xc * small) * big) * slope * c, (small + (xc * small) * big * slope) * c
    )


def gelu_tanh_derivative(x):
    general = tabled(x, _gelu_tanh_derivative_from_table, _gelu_tanh_derivative_formula)
    # f' = 0 at x = -0.752: there from a polynomial in x - x0.
    return near_root("gelu_tanh", x, general)
