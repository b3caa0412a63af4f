"""Exact arithmetic: a sum or a product as its rounded value and its rounding error.

Guarantees: `two_sum(a, b)` returns s + e == a + b exactly and `two_product(a, b)` p + e ==
a b exactly (no FMA needed), for operands whose products stay normal; `split(a)` is a as
hi + lo with each half's products exact.  They stay exact once XLA has compiled them: a
constant operand is made `opaque` (XLA would fold (c + b) - c), and a product operand is
passed through `rounded` (XLA's CPU compiler may contract it into one FMA for s and not for e).
`decimal_pi` and `split_constant` give constants to any precision, as hi + lo in a dtype.

Held by tests/test_accuracy.py: test_exact_products_and_sums_are_exact,
test_sums_with_a_constant_stay_exact_under_xla and
test_a_product_into_a_compensated_sum_stays_rounded_under_xla (against exact rationals).
"""

from __future__ import annotations

import functools
from decimal import Decimal, localcontext

import jax
import jax.numpy as jnp
import numpy as np


def split(a):
    """a as hi + lo, exactly, each with about half of the significand's bits (Dekker's split).

    Products of halves are then exact, which is how `two_product` works without an FMA.  hi is
    a with the low bits of its significand masked off (12 of float32's 24 bits, 26 of
    float64's 53), not Veltkamp's a * 4097 - (a * 4097 - a): a compiler that contracts a
    multiply and a subtraction into an FMA (XLA's GPU backend may) would turn Veltkamp's hi
    into a number with too many bits, and its products would round.  The mask also cannot
    overflow, and it is two instructions instead of four.  (In float64 lo has up to 27 bits,
    so lo * lo may round: by 2^-106 of the product, far below anything kept.)
    """
    if isinstance(a, np.ndarray):
        bits = np.uint64 if a.dtype == np.float64 else np.uint32
        mask = _SPLIT_MASK[a.dtype == np.float64]
        hi = (a.view(bits) & bits(mask)).view(a.dtype)
        return hi, a - hi
    bits = jnp.uint64 if a.dtype == jnp.float64 else jnp.uint32
    mask = _SPLIT_MASK[a.dtype == jnp.float64]
    hi = jax.lax.bitcast_convert_type(
        jax.lax.bitcast_convert_type(a, bits) & jnp.asarray(mask, bits), a.dtype
    )
    return hi, a - hi


# Sign, exponent and the top 11 (float32) or 25 (float64) stored significand bits.
_SPLIT_MASK = {False: 0xFFFFF000, True: 0xFFFFFFFFF8000000}


def split_constant(value: Decimal, dtype) -> tuple[float, float, tuple[float, float]]:
    """value as hi + lo, each representable in dtype (hi + lo carries twice its precision),
    and hi's halves (`split`) for `two_product`."""
    hi = np.asarray(float(value), dtype)
    lo = float(np.asarray(float(value - Decimal(float(hi))), dtype))
    halves = tuple(float(h) for h in split(hi))
    return float(hi), lo, halves


def two_product(a, b, a_halves=None):
    """a * b as p + e with p the rounded product and e its rounding error, exactly (Dekker).

    `a_halves` is `split(a)` when it is known already (a constant split once in NumPy).
    """
    p = a * b
    ah, al = split(a) if a_halves is None else a_halves
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def rounded(p):
    """The product p as rounded, for a compensated sum to take as an operand.

    XLA's CPU compiler contracts a product and the sum it feeds into one FMA, and may do so for
    one use of the sum and not another: two_sum(c3 x^2, c1) then returned a hi from the exact
    product and a lo for the rounded one (gelu's tanh form, float64: 17 ulp).  A select on
    p != p (NaN stays NaN) stands between the product and the sum.
    """
    return jnp.where(p != p, jnp.nan, p)


def two_sum(a, b):
    """a + b as s + e with s the rounded sum and e its rounding error, exactly (Knuth).

    A constant a would let XLA fold (c + b) - c into b and e into 0: a Python float a is made
    opaque first.  An operand that is a product takes `rounded` at the call site (XLA's CPU
    compiler may fuse it into the sum for s and not for e); the guard is not built in, as most
    operands are sums or exact products, for which it would be a select for nothing.
    """
    if isinstance(a, float):
        a = opaque(a, jnp.result_type(b))
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def opaque(value: float, dtype) -> jax.Array:
    """The constant `value` as a scalar XLA cannot see through while it simplifies: it folds
    the constants of (1 + r) - 1 into r - r = 0, which erases a compensated sum's error term
    (log1p lost it that way once)."""
    return jax.lax.optimization_barrier(jnp.asarray(value, dtype))


@functools.cache
def decimal_pi(digits: int) -> Decimal:
    """pi to `digits` significant digits (the series of the `decimal` module's recipes)."""
    with localcontext() as context:
        context.prec = digits + 2
        lasts, t, s, n, na, d, da = 0, Decimal(3), Decimal(3), 1, 0, 0, 24
        while s != lasts:
            lasts = s
            n, na = n + na, na + 8
            d, da = d + da, da + 32
            t = (t * n) / d
            s += t
    return s
