"""Periodic units: snake, x + sin(a x)^2 / a, with a learnable frequency."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from actfn._numerics.exact import two_product
from actfn._numerics.periodic import (
    SERIES_TERMS,
    SNAKE_LIMIT,
    SNAKE_TOP,
    sin_cos,
    snake_h,
    snake_offsets,
    snake_sin_near_zeros,
)
from actfn._numerics.policy import dtype_kind
from actfn._numerics.roots import near_root, root_window
from actfn._wiring import HE, POSITIVE, Param, elementwise


def _snake_partials(x, a):
    # Keeps x.  f' = 1 + sin(2ax); df/da = x sin(2ax) / a - sin(ax)^2 / a^2.
    # f' cancels to 0 where sin(w) = -1, w = 2ax.  There 1 + sin(w) = cos(w)^2 / (1 - sin(w)),
    # with no cancellation: XLA's sin and cos are correctly rounded for every argument (the
    # zeros of cos included), so f' is within a few ulp for every x when w is exact (a = 1, or
    # a power of 2).  Otherwise ax rounds: with ax = u + o exactly (Dekker), and o' = 2o,
    # 1 + sin(w + o') is (cos(w) + o' (1 - sin(w)) / 2)^2 / (1 - sin(w)) to first order in o'
    # (the second-order error is o'^2 / 4 of f', negligible for |ax| < 2^10, 2^20 in float64;
    # beyond, o is left out).  Where 2ax would overflow (|ax| from half the largest float),
    # ax = v + P exactly (Sterbenz), with P in the top binade and 2P = 2 pi k + O, |O| below
    # 1e-7 (float32; 1e-16 in float64): sin(2ax) = sin(2v + O), and O is taken in as o is.
    # (An earlier form carried ax + pi/4 in extra precision up to |ax| = 2^12 and used
    # (sin + cos)^2 beyond: 214 ulp in float32 on the table's grid; (sin + cos)^2 in the top
    # binade alone: 16.8.)
    u = a * x
    sin, cos = jnp.sin(u), jnp.cos(u)
    kind = dtype_kind(x)
    near = jnp.abs(u) < (2.0**20 if kind == "float64" else 2.0**10)
    u_lo = two_product(a, jnp.where(jnp.abs(u) < SNAKE_LIMIT[kind], x, 0.0))[1]
    o = 2.0 * jnp.where(near, u_lo, 0.0)
    top, offset = SNAKE_TOP[kind]
    over = jnp.abs(u) >= 0.5 * float(jnp.finfo(x.dtype).max)
    side = jnp.where(u < 0.0, -1.0, 1.0)
    w = 2.0 * jnp.where(over, u - side * top, u)
    o = jnp.where(over, side * offset, o)
    sin_w, cos_w = jnp.sin(w), jnp.cos(w)
    n = cos_w + o * (0.5 * (1.0 - sin_w))
    slope = jnp.where(sin_w < 0.0, (n * n) / (1.0 - sin_w), (1.0 + sin_w) + o * cos_w)
    # df/da = (u sin 2u - sin(u)^2) / a^2 = sin(u) h(u) / a^2, h(u) = 2u cos u - sin u, u = ax:
    # h is 0 where tan u = 2u, and its terms cancel next to each zero (75 ulp at the first,
    # 1.1656; 4,000 next to 10.95 on a dense grid in float32, 1e13 in float64).  Next to the
    # first, a polynomial in |u| - u0 fits a^2 df/da; from the second on, `snake_h` takes h
    # from |u| - u_k.  Both take ax's rounding u_lo in, and so do sin and cos: sin(ax) =
    # sin(u) cos(u_lo) + cos(u) sin(u_lo), |u_lo| <= 1/8, and next to its zeros from
    # |ax| - j pi; cos(ax) likewise.
    # (The shorter u sin 2u - sin(u)^2 was tried: at |x| = 1e-19 in float32 it returns twice
    # the true value, where sin(u)^2 is subnormal; this form does not.)
    lo_sin, lo_cos = sin_cos(u_lo, SERIES_TERMS[kind][1])
    sin, cos = sin * lo_cos + cos * lo_sin, cos * lo_cos - sin * lo_sin
    magnitude, u_lo = jnp.abs(u), side * u_lo
    offsets = jax.lax.platform_dependent(
        magnitude, u_lo, tpu=functools.partial(snake_offsets, table=False), default=snake_offsets
    )
    sin_magnitude = snake_sin_near_zeros(offsets, magnitude, side * sin)  # sin(|ax|)
    sin = side * sin_magnitude
    d_a = x * (2.0 * sin * cos) / a - jnp.square(sin / a)
    # The two forms next to zeros give a^2 df/da.  (Only there: a^2 d_a / a^2 would be 0 / 0
    # for float32 a = 1e-30, where a^2 underflows.)
    taken, h = snake_h(offsets, magnitude)
    first = root_window("snake_a", magnitude)
    scaled = near_root("snake_a", magnitude, jnp.where(taken, sin_magnitude * h, 0.0), u_lo)
    return slope, jnp.where(taken | first, scaled / (a * a), d_a)


def _snake_forward(x, a):
    # At +-inf the bounded term is sin(inf) = NaN; the limit is x.  For -3 < ax < -0.3, x and
    # sin(ax)^2 / a cancel (y(-1) = -0.29): there sin^2 is written (1 - cos(2ax)) / 2, which
    # rounds once where sin^2 rounds twice (float32: 2.5 -> 1.5 ulp).
    u = a * x
    window = (u > -3.0) & (u < -0.3)
    bump = jnp.where(window, (1.0 - jnp.cos(2.0 * u)) * 0.5, jnp.square(jnp.sin(u)))
    return jnp.where(jnp.isinf(x) | _bump_below_ulp(x, u, a), x, x + bump / a)


def _bump_below_ulp(x, u, scale):
    """Where u = a x overflows (sin(u) would be NaN) and any bump in [0, 1 / scale] rounds
    away against x, so that f is x itself (snake: always, as there |x| > max / a)."""
    return jnp.isinf(u) & jnp.isfinite(x) & (x + 1.0 / scale == x)


snake = elementwise(
    name="snake",
    summary="Snake: x + sin(a x)^2 / a, a periodic activation with a learnable frequency.",
    formula="x + sin(a x)^2 / a",
    derivative="1 + sin(2 a x); df/da = x sin(2ax) / a - sin(ax)^2 / a^2",
    output_range=(-math.inf, math.inf),
    forward=_snake_forward,
    partials=_snake_partials,
    reference=lambda x, a: x + jnp.sin(a * x) ** 2 / a,
    saves="x",
    params=(Param("a", 1.0, **POSITIVE),),
    trusted=(-1e3, 1e3),
    use="hidden layers of models of periodic signals (audio: BigVGAN, DAC)",
    initializer=HE,
    paper='Ziyin et al., 2020, "Neural Networks Fail to Learn Periodic Functions and How to Fix '
    'It", https://arxiv.org/abs/2006.08195',
    example=(("a", 0.5),),
    args="    a: the frequency, > 0 (a number or a learnable array, e.g. per channel).\n",
)


def _snake_beta_forward(x, alpha, beta):
    # snake's value with the magnitude apart: sin(ax)^2 as (1 - cos 2ax) / 2 where it would
    # cancel against x (see snake).  Nothing divides by alpha: as a learned frequency tends to
    # 0, f tends to x exactly (snake's sin(ax)^2 / a is 0 / 0 at a = 0).
    u = alpha * x
    window = (u > -3.0) & (u < -0.3)
    bump = jnp.where(window, (1.0 - jnp.cos(2.0 * u)) * 0.5, jnp.square(jnp.sin(u)))
    return jnp.where(jnp.isinf(x) | _bump_below_ulp(x, u, beta), x, x + bump / beta)


def _snake_beta_partials(x, alpha, beta):
    # Keeps x.  f' = 1 + r sin(2ax), r = a / b, as (1 - r) + r (1 + sin(2ax)) with snake's
    # 1 + sin(2ax), which does not cancel next to its zeros: for r <= 1 neither term cancels
    # (r = 1, snake's own case, is snake's f' exactly); for r > 1, f' has simple zeros where
    # the two terms cancel.  df/dalpha = x sin(2ax) / b, df/dbeta = -sin(ax)^2 / b^2.
    r = alpha / beta
    dx = (1.0 - r) + r * _snake_partials(x, alpha)[0]
    u = alpha * x
    xs = jnp.where(jnp.isinf(x), 0.0, x)  # the limit of x sin(2ax) / b is not defined: 0
    d_alpha = xs * jnp.sin(2.0 * u) / beta
    d_beta = -jnp.square(jnp.sin(u) / beta)
    return dx, d_alpha, jnp.where(jnp.isinf(x), 0.0, d_beta)


snake_beta = elementwise(
    name="snake_beta",
    summary="SnakeBeta: x + sin(alpha x)^2 / beta, snake with a separate learnable magnitude.",
    formula="x + sin(alpha x)^2 / beta",
    derivative="1 + (alpha / beta) sin(2 alpha x); df/dalpha = x sin(2 alpha x) / beta; "
    "df/dbeta = -sin(alpha x)^2 / beta^2",
    output_range=(-math.inf, math.inf),
    forward=_snake_beta_forward,
    partials=_snake_beta_partials,
    reference=lambda x, alpha, beta: x + jnp.sin(alpha * x) ** 2 / beta,
    saves="x",
    params=(Param("alpha", 1.0), Param("beta", 1.0, **POSITIVE)),
    trusted=(-1e3, 1e3),
    use="hidden layers of audio generators (BigVGAN's AMP blocks), alpha and beta per channel",
    initializer=HE,
    paper='Lee et al., 2023, "BigVGAN: A Universal Neural Vocoder with Large-Scale Training", '
    "https://arxiv.org/abs/2206.04658",
    example=(("alpha", 0.5), ("beta", 2.0)),
    notes="With alpha = beta it is snake(x, alpha).  BigVGAN learns alpha and beta in log "
    "scale, exp(log_alpha): pass `jnp.exp(log_alpha)`.  alpha may be 0 or negative (f = x at "
    "alpha = 0); beta must be > 0.",
    args="    alpha: the frequency (a number or a learnable array, e.g. per channel).\n"
    "    beta: the magnitude's reciprocal scale, > 0.\n",
)
