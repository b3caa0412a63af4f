"""Periodic numerics: pi in words, reductions against multiples of pi, snake's df/da zeros.

snake's df/da = sin(u) h(u) / a^2, h = 2u cos u - sin u, u = ax, is 0 where sin u = 0 and
where tan u = 2u, and its rounded terms cancel next to each zero.  Here |ax| (as hi + lo) is
reduced against the nearest (k + 1/2) pi with pi as three words, and against the zero u_k of h
from a table for k <= 4,096 (`snake_roots.npy`, written by tools/build_snake_roots_table.py)
or a series beyond it; sin and cos of the small offsets come from their series.
Guarantees: snake's df/da within 1.9 to 5 ulp next to every zero up to |ax| = 2^21 (float32)
and 2^50 (float64), where a float is too far from any zero for the cancellation to matter.

Held by tests/test_accuracy.py: the test_snake_* tests (the floats next to the zeros for k
up to 1e12 and 1e30, the table against mpmath and its tool, the series' coefficients).
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction
from importlib import resources
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from actfn._numerics.exact import decimal_pi, rounded, split, two_product, two_sum
from actfn._numerics.policy import dtype_kind, lookup
from actfn._numerics.series import horner


def continued_fraction_denominators(value: Fraction, below: int) -> list[int]:
    """The denominators of the continued-fraction convergents of `value`, in turn, below
    `below` (each convergent p / q is the best approximation with a denominator up to q)."""
    denominators, rest, (q_before, q) = [], value, (1, 0)
    while rest:
        whole = math.floor(rest)
        q_before, q = q, whole * q + q_before
        if q >= below:
            break
        denominators.append(q)
        rest = 1 / (rest - whole)
    return denominators


def _near_multiple_of_pi(bits: int, exponent: int) -> tuple[float, float]:
    """P = m 2^exponent, 2^(bits - 1) <= m < 2^bits (the top binade of the dtype), with P / pi
    close to an integer, and O = 2P mod 2 pi in (-pi, pi]: 2P = 2 pi k + O, |O| tiny.

    m is the largest continued-fraction denominator of frac(2^exponent / pi) below 2^bits,
    times the least integer that brings it into the binade; |O| is then near 2 pi / 2^bits
    (float32: 9.2e-8; float64: 5.2e-17).  pi to 400 digits covers 2^971 / pi's 293 integer
    digits.
    """
    pi = Fraction(decimal_pi(400))
    beta = Fraction(2**exponent) / pi
    beta -= math.floor(beta)
    denominator = continued_fraction_denominators(beta, 2**bits)[-1]
    m = -(-(2 ** (bits - 1)) // denominator) * denominator
    assert 2 ** (bits - 1) <= m < 2**bits
    turns = m * beta
    return float(m * 2**exponent), float(2 * pi * (turns - round(turns)))


# Where 2ax overflows, snake's f' takes ax = v + P with P from here (see `_snake_partials`).
SNAKE_TOP = {"float32": _near_multiple_of_pi(24, 104), "float64": _near_multiple_of_pi(53, 971)}


def _load_snake_roots() -> dict[str, tuple[np.ndarray, ...]]:
    """The roots u_k of tan u = 2u, k = 1, 2, ... (tools/build_snake_roots_table.py) as words
    of each dtype that sum to it: float64's hi + lo (106 bits), and three float32s (72 bits;
    two would leave 2^-48 of u_k, which a product ax that is not a float can come closer to)."""
    with resources.files("actfn._numerics").joinpath("snake_roots.npy").open("rb") as f:
        hi, lo = np.load(f)
    first = hi.astype(np.float32)
    rest = hi - first  # exact, as is rest - second below
    second = (rest + lo).astype(np.float32)
    third = ((rest - second) + lo).astype(np.float32)
    return {"float64": (hi, lo), "float32": (first, second, third)}


SNAKE_ROOTS = _load_snake_roots()


def _pi_words(dtype) -> tuple[float, float, float]:
    """pi as three floats of dtype, each the rounding of what the ones before leave (float32:
    72 bits, float64: 159)."""
    words, rest = [], decimal_pi(100)
    with localcontext() as context:
        context.prec = 100
        for _ in range(3):
            words.append(float(np.asarray(float(rest), dtype)))
            rest -= Decimal(words[-1])
    return tuple(words)


_PI_WORDS = {kind: _pi_words(kind) for kind in ("float32", "float64")}


_PI_HALVES = {
    kind: [tuple(float(h) for h in split(np.asarray(w, kind))) for w in words[:2]]
    for kind, words in _PI_WORDS.items()
}


# Beyond the table, e_k = w + 5/3 w^3 + 83/15 w^5 + 2407/105 w^7 + ..., w = 1 / (2m),
# m = (k + 1/2) pi (cot e = 2(m - e), reversed as a series; w^9's term, about 100 w^9, is
# below 2^-108 of e for k > 4096).  |u| - m is taken with pi as three words (72 bits in
# float32, 159 in float64), to 2^-50 and 2^-108 of 1 up to LIMIT.  Beyond LIMIT (float32 2^21,
# float64 2^50) the general formula is left: one binade there holds u / pi zeros and
# u / ulp(u) floats, so a float is expected no closer to a zero than about pi ulp(u) / u, where
# the general formula's error, about 1 / (|u| d) ulp at a distance d, is below 1 ulp.  (For an
# a that is not a power of 2, ax's rounding is then large against the period's reduction.)
SNAKE_SERIES = (5.0 / 3.0, 83.0 / 15.0, 2407.0 / 105.0)


SNAKE_LIMIT = {"float32": 2.0**21, "float64": 2.0**50}


# Within SNAKE_NEAR of a zero of h or of sin, the forms without cancellation take over.
_SNAKE_NEAR = 0.5


# sin(t) / t and cos(t) as polynomials in t^2, to t^16; the leading `terms` of them are within
# 2^-25 and 2^-56 of sin and cos for |t| <= 1/2 at 5 and 9 terms, for |t| <= 1/8 at 3 and 7.
_SIN_SERIES = tuple((-1.0) ** n / math.factorial(2 * n + 1) for n in range(9))


_COS_SERIES = tuple((-1.0) ** n / math.factorial(2 * n) for n in range(9))


SERIES_TERMS = {  # (|t| <= 1/2, |t| <= 1/8)
    "float32": (5, 3),
    "float64": (9, 7),
}


def sin_cos(t, terms: int):
    """sin(t) and cos(t) for a small t, from `terms` terms of their series."""
    t2 = t * t
    return t * horner(_SIN_SERIES[:terms], t2), horner(_COS_SERIES[:terms], t2)


def _minus_pi_times(magnitude, magnitude_lo, multiple):
    """(magnitude + magnitude_lo) - multiple pi as hi + lo, with magnitude within pi / 2 of
    multiple pi (k + 1/2 below LIMIT: exact, as are its products with the words of pi, by
    Dekker); also multiple pi's hi and the rest of it."""
    kind = dtype_kind(magnitude)
    pi1, pi2, pi3 = _PI_WORDS[kind]
    halves1, halves2 = _PI_HALVES[kind]
    p1, e1 = two_product(pi1, multiple, halves1)
    p2, e2 = two_product(pi2, multiple, halves2)
    p1, p2 = rounded(p1), rounded(p2)
    # magnitude - p1 is exact (the two are within a factor of 2); the rest in decreasing size.
    s1, l1 = two_sum(magnitude - p1, -p2)
    s2, l2 = two_sum(s1, -e1)
    v, l3 = two_sum(s2, magnitude_lo)
    return v, (l1 + l2 + l3) - (e2 + multiple * pi3), p1, e1 + p2


class SnakeOffsets(NamedTuple):
    k: jax.Array  # the nearest (k + 1/2) pi is m
    d: jax.Array  # |ax| - u_k, for the root u_k = m - e of tan u = 2u (k >= 1)
    c: jax.Array  # cos u_k
    known: jax.Array  # where u_k is known (tabled, or beyond the table)
    j: jax.Array  # the nearest multiple j pi of pi
    r: jax.Array  # |ax| - j pi, as hi + lo
    r_lo: jax.Array


def snake_offsets(magnitude, magnitude_lo, table=True) -> SnakeOffsets:
    """|ax| = magnitude + magnitude_lo (Dekker) against the nearest zero of h and of sin, from
    one reduction v = |ax| - m, m = (k + 1/2) pi: r = v -+ pi / 2, and d = v + e_k beyond the
    table (e_k from the series), d = |ax| - u_k from u_k's words within it.

    v + e_k is exact next to the root, where the two nearly cancel; so is v -+ pi / 2 next to
    j pi.  Without the `table` (on TPU, whose gathers are slow), d is known beyond it only.
    """
    kind = dtype_kind(magnitude)
    words = SNAKE_ROOTS[kind]
    count = words[0].size
    k = jnp.maximum(jnp.round(magnitude * (1.0 / math.pi) - 0.5), 0.0)
    v, v_lo, m, m_lo = _minus_pi_times(magnitude, magnitude_lo, k + 0.5)
    # w = 1 / (2m): w0 = 1 / (2 m_hi) and its residual 1 - 2 m w0, the product 2 m_hi w0 exact.
    w0 = 0.5 / m
    q, q_lo = two_product(2.0 * m, w0)
    residual = -((rounded(q) - 1.0) + q_lo) - (2.0 * m_lo) * w0
    w2 = w0 * w0
    e, e_lo = w0, w0 * residual + (w0 * w2) * horner(SNAKE_SERIES, w2)
    d = (v + e) + (v_lo + e_lo)
    e = e + e_lo  # (to the dtype's precision: s = 2 u_k c below takes c's relative error)
    c = _minus_one_to(k) * (e - e * (e * e) * (1.0 / 6.0))  # cos u_k = (-1)^k sin e
    tabled = k <= count
    if table:
        # From the roots themselves, where e's series would not converge: each difference
        # but the last is exact next to u_k (the words and |ax|'s two parts share its grid).
        index = jnp.clip(k, 1.0, float(count)).astype(jnp.int32) - 1
        root, *rest = (lookup(word, index) for word in words)
        d_table = (magnitude - root) + magnitude_lo
        for word in rest:
            d_table = d_table - word
        d = jnp.where(tabled, d_table, d)
        # cos u_k = (-1)^k / sqrt(1 + 4 u_k^2), as 2 u_k cos u_k = sin u_k.
        c = jnp.where(tabled, _minus_one_to(k) * jax.lax.rsqrt(1.0 + 4.0 * (root * root)), c)
    # The nearest multiple of pi is k pi below m and (k + 1) pi above; below pi / 2, 0, where
    # |ax| is its own offset (the reduction against pi / 2 would not be exact there).
    half_pi = [w * 0.5 for w in _PI_WORDS[kind]]
    below = v < 0.0
    side = jnp.where(below, 1.0, -1.0)
    r, r_lo = two_sum(v, side * half_pi[0])
    r_lo = r_lo + (v_lo + side * (half_pi[1] + half_pi[2]))
    j = jnp.where(below, k, k + 1.0)
    first = j == 0.0
    r, r_lo = jnp.where(first, magnitude, r), jnp.where(first, magnitude_lo, r_lo)
    known = jnp.full_like(tabled, True) if table else ~tabled
    return SnakeOffsets(k, d, c, known, j, r, r_lo)


def _minus_one_to(n):
    """(-1)^n for a whole float n."""
    return 1.0 - 2.0 * (n - 2.0 * jnp.floor(0.5 * n))


def snake_sin_near_zeros(offsets: SnakeOffsets, magnitude, general):
    """sin(|ax|): within SNAKE_NEAR of j pi (below LIMIT), (-1)^j sin(r) with r = |ax| - j pi
    as hi + lo (ax's rounding would cost sin a relative error of u_lo / sin, without bound);
    `general` elsewhere."""
    kind = dtype_kind(magnitude)
    r, r_lo = two_sum(offsets.r, offsets.r_lo)  # (r_lo may hold ax's rounding, as large as r)
    sin_r = r * horner(_SIN_SERIES[: SERIES_TERMS[kind][0]], r * r) + r_lo
    near = (jnp.abs(r) < _SNAKE_NEAR) & (magnitude < SNAKE_LIMIT[kind])
    return jnp.where(near, _minus_one_to(offsets.j) * sin_r, general)


def snake_h(offsets: SnakeOffsets, magnitude):
    """h(|ax|) = 2|u| cos|u| - sin|u| within SNAKE_NEAR of a root u_k (k >= 1) of tan u = 2u,
    with no cancellation; and where that is taken.

    With d = |ax| - u_k, c = cos u_k and s = sin u_k = 2 u_k c, h = 2 d c cos d -
    sin d (2|u| s + c): the first term is below 1 / (2 u_k^2) of the second, and each term is d
    times factors each rounded once.
    """
    kind = dtype_kind(magnitude)
    d, c = offsets.d, offsets.c
    s = 2.0 * (magnitude - d) * c
    sin_d, cos_d = sin_cos(d, SERIES_TERMS[kind][0])
    taken = (
        (offsets.k >= 1.0)
        & offsets.known
        & (jnp.abs(d) < _SNAKE_NEAR)
        & (magnitude < SNAKE_LIMIT[kind])
    )
    return taken, (2.0 * d) * c * cos_d - sin_d * (2.0 * magnitude * s + c)
