"""Series: Horner's rule, Chebyshev economisation, and fixed Taylor series.

`economized` shortens a power series for 0 <= t <= upto by Chebyshev's truncation
(near-minimax, with no fitting run to keep); the callers state the accuracy of each use.
`expm1_series` is exp(y) - 1 for the small corrections of the tables (|y| < 0.15).
`TANH_SHRINK_SERIES` is x - tanh(x) = sum c_k x^(2k+3), from Bernoulli numbers, exact to the
last bit of each float64 coefficient.  What these feed is held by the value and derivative
tests of tanh, tanh_shrink and gelu in tests/test_accuracy.py.
"""

from __future__ import annotations

import math
from fractions import Fraction

import jax.numpy as jnp
import numpy as np

from actfn._numerics.exact import rounded, two_product, two_sum


def horner(coefficients, t):
    """The polynomial with `coefficients` (ascending powers) at t, by Horner's rule."""
    acc = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        acc = acc * t + c
    return acc


def economized(series, upto: float, terms: int) -> tuple[float, ...]:
    """A power series in t shortened to `terms` coefficients for 0 <= t <= upto, by
    Chebyshev's truncation (economization): near-minimax, with no fitting run to keep."""
    chebyshev = np.polynomial.Polynomial(series).convert(
        kind=np.polynomial.Chebyshev, domain=[0.0, upto]
    )
    power = chebyshev.truncate(terms).convert(kind=np.polynomial.Polynomial)
    return tuple(float(c) for c in power.coef)


def expm1_series(y, terms: int):
    """exp(y) - 1 for a small y (the tables' corrections), its Taylor series to y^terms."""
    return y * horner(tuple(1.0 / math.factorial(n) for n in range(1, terms + 1)), y)


def _tanh_shrink_coefficients(n: int) -> tuple[float, ...]:
    """Coefficients c_k of x - tanh(x) = sum_{k<n} c_k x^(2k+3), from Bernoulli numbers."""
    bernoulli = [Fraction(1)]
    for m in range(1, 2 * n + 4):
        bernoulli.append(-sum(math.comb(m + 1, j) * bernoulli[j] for j in range(m)) / (m + 1))
    # tanh(x) = sum_{k>=1} 2^(2k) (2^(2k) - 1) B_(2k) x^(2k-1) / (2k)!
    tanh = [
        Fraction(4**k * (4**k - 1)) * bernoulli[2 * k] / math.factorial(2 * k)
        for k in range(1, n + 2)
    ]
    return tuple(float(-c) for c in tanh[1:])


# The series converges for |x| < pi/2: at |x| = 1, 44 terms reach float64's epsilon and 20
# float32's.
TANH_SHRINK_SERIES = _tanh_shrink_coefficients(44)


def compensated_horner(coefficients, t):
    """The polynomial at t as Horner's rule computed in twice the precision and rounded once
    (Graillat, Langlois and Louvet, 2005): each step's product and sum are exact as value and
    error (Dekker, Knuth), and the errors are summed by Horner's rule of their own.  Where the
    polynomial cancels (rational's numerator next to its zeros) the result keeps the digits
    plain Horner loses.  For |t| < 2^20 (float32; 2^100 in float64), where the exact
    products' halves stay in range for degrees up to 5; plain Horner beyond."""
    hi, lo = compensated_horner_parts(coefficients, t)
    return hi + lo


def compensated_horner_parts(coefficients, t):
    """`compensated_horner` before its last rounding: the polynomial as hi + lo, lo the summed
    errors (0 beyond `compensated_horner`'s range, where hi is plain Horner's)."""
    inside = jnp.abs(t) < (2.0**100 if t.dtype == jnp.float64 else 2.0**20)
    ts = jnp.where(inside, t, 0.0)
    s = coefficients[-1] + jnp.zeros_like(t)
    error = jnp.zeros_like(t)
    for c in reversed(coefficients[:-1]):
        p, p_lo = two_product(s, ts)
        s, s_lo = two_sum(rounded(p), c + jnp.zeros_like(t))
        error = error * ts + (p_lo + s_lo)
    return jnp.where(inside, s, horner(coefficients, t)), jnp.where(inside, error, 0.0)
