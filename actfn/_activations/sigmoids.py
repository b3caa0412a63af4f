"""Sigmoid-like units: squashing functions and their logs (sigmoid, tanh, softsign, the hard and
sparse sigmoids, log_sigmoid, log1mexp, tanh_shrink).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from actfn._numerics.elementary import accurate_tanh, exp, exp_parts, expm1, log1p, upto_20
from actfn._numerics.exact import opaque, rounded, two_product, two_sum
from actfn._numerics.policy import dtype_kind, narrow_input
from actfn._numerics.series import TANH_SHRINK_SERIES
from actfn._wiring import GLOROT, Kink, Param, elementwise


def _sigmoid_forward(x):
    """XLA's logistic 1 / (1 + exp(-x)) with the rounding of 1 + exp(-x) corrected in float32,
    and in float64 from exp(-|x|) as hi + lo (XLA's exp is 1.45 ulp off, and 1 + E and the
    division add theirs: 2.0 ulp, as jax.nn; here 1.0).

    float32: where exp(-x) passes 2^24 (x < -16.6), 1 + e rounds by a whole unit, half an ulp
    of the result or more, on top of exp's 0.92 and the division's 0.5: jax.nn is 2.4 ulp off
    there.  d = 1 + e misses 1 + e by r = 1 - (d - e), exactly for e >= 1 (Fast2Sum; for
    x > 0 the result is within an ulp of 1 and r's own rounding is below its last place), and
    1 / (1 + e) = y - y^2 r to first order, y = 1 / d: 1.9 ulp.  It costs about 13% of the
    forward+backward time in cache.  float16 and bfloat16 round once to 8 or 11 bits and take
    XLA's logistic.

    float64: with E = exp(-|x|) <= 1 and D = 1 + E, each exactly as a sum and its error,
    sigmoid(|x|) = 1 / D and sigmoid(-|x|) = E / D are a division and a first-order correction.
    """
    if narrow_input():
        return jax.nn.sigmoid(x)
    if dtype_kind(x) == "float32":
        e = jnp.exp(-x)
        d = 1.0 + e
        y = 1.0 / d
        # Where e is inf (x below -88.7) d - e is NaN, but y^2 is 0 there already.  The test is
        # on e, not on x: with x used once, Keras' train step keeps no copy of it (4 MiB of
        # temporaries, not 6).
        r = jnp.where(e < math.inf, opaque(1.0, x.dtype) - (d - e), 0.0)
        return y - (y * y) * r
    e, e_lo = exp_parts(-jnp.abs(x))
    d, d_lo = two_sum(1.0, e)
    d_lo = d_lo + e_lo
    big = 1.0 / d
    big = big - big * (d_lo * big)
    q = e / d
    small = q + (e_lo - q * d_lo) / d
    return jnp.where(x >= 0.0, big, small)


sigmoid = elementwise(
    name="sigmoid",
    summary="Logistic sigmoid.",
    formula="1 / (1 + exp(-x))",
    derivative="f(x) * (1 - f(x))",
    output_range=(0.0, 1.0),
    forward=_sigmoid_forward,
    # Keeps y: f' = y (1 - y).  Derivatives from y are limited in the right tail, where y
    # rounds to 1 (x > 17 in float32).
    partials=lambda y: (y * (1.0 - y),),
    reference=lambda x: 1.0 / (1.0 + jnp.exp(-x)),
    saves="y",
    trusted=(-100.0, 100.0),
    use="output layer of binary and multi-label classification (with binary cross-entropy); "
    "gates of LSTM/GRU",
    initializer=GLOROT,
    paper='LeCun et al., 1998, "Efficient BackProp", https://doi.org/10.1007/3-540-49430-8_2',
    jax_nn="sigmoid",
)


tanh = elementwise(
    name="tanh",
    summary="Hyperbolic tangent.",
    formula="(exp(x) - exp(-x)) / (exp(x) + exp(-x))",
    derivative="1 - f(x)^2",
    output_range=(-1.0, 1.0),
    forward=accurate_tanh,
    # Keeps y: f' = (1 - y)(1 + y), the factored form keeps its accuracy as |y| -> 1.
    partials=lambda y: ((1.0 - y) * (1.0 + y),),
    reference=lambda x: (jnp.exp(x) - jnp.exp(-x)) / (jnp.exp(x) + jnp.exp(-x)),
    saves="y",
    trusted=(-100.0, 100.0),
    use="hidden layers of recurrent nets; outputs in [-1, 1]",
    initializer=GLOROT,
    paper='LeCun et al., 1998, "Efficient BackProp", https://doi.org/10.1007/3-540-49430-8_2',
    jax_nn="tanh",
)


soft_sign = elementwise(
    name="soft_sign",
    summary="Softsign: x / (1 + |x|).",
    formula="x / (1 + |x|)",
    derivative="1 / (1 + |x|)^2 = (1 - |f(x)|)^2",
    output_range=(-1.0, 1.0),
    # At +-inf the quotient is inf/inf; the limit is the sign.
    forward=lambda x: jnp.where(jnp.isinf(x), jnp.sign(x), x / (1.0 + jnp.abs(x))),
    # Keeps y: f' = (1 - |y|)^2.
    partials=lambda y: (jnp.square(1.0 - jnp.abs(y)),),
    reference=lambda x: x / (1.0 + jnp.abs(x)),
    saves="y",
    aliases=("softsign",),
    trusted=(-1e3, 1e3),
    use="hidden layers; a tanh with polynomial tails",
    initializer=GLOROT,
    paper='Glorot and Bengio, 2010, "Understanding the difficulty of training deep feedforward '
    'neural networks", https://proceedings.mlr.press/v9/glorot10a.html',
    jax_nn="soft_sign",
)


def _hard_sigmoid_z(x, slope, offset):
    # slope * (x + offset / slope) puts the lower kink exactly at the rounded -offset / slope.
    return slope * (x + offset / slope)


def _hard_sigmoid_partials(x, slope, offset):
    # Keeps x: the slope's derivative is x itself inside the linear part.  Inside is decided
    # on x against the kinks' locations, not on the rounded z: just below the upper kink z
    # rounds to 1 (at 2.9999999999999996, f' is 1/6, not 0).  The lower one is where z is
    # exactly 0, x = -(offset / slope).
    inside = (x > -(offset / slope)) & (x < (1.0 - offset) / slope)
    return jnp.where(inside, slope, 0.0), jnp.where(inside, x, 0.0), jnp.where(inside, 1.0, 0.0)


hard_sigmoid = elementwise(
    name="hard_sigmoid",
    summary="Hard sigmoid: a piecewise-linear sigmoid.",
    formula="min(max(slope * x + offset, 0), 1); by default relu6(x + 3) / 6",
    derivative="slope where 0 < slope * x + offset < 1, else 0",
    output_range=(0.0, 1.0),
    forward=lambda x, slope, offset: jnp.minimum(
        jnp.maximum(_hard_sigmoid_z(x, slope, offset), 0.0), 1.0
    ),
    partials=_hard_sigmoid_partials,
    reference=lambda x, slope, offset: jnp.clip(slope * x + offset, 0.0, 1.0),
    saves="x",
    params=(Param("slope", 1.0 / 6.0), Param("offset", 0.5)),
    aliases=("hardsigmoid",),
    kinks=(
        Kink(
            lambda p: -p["offset"] / p["slope"],
            lambda p: 0.0,
            "x = -offset / slope (-3 by default): f' = 0",
        ),
        Kink(
            lambda p: (1.0 - p["offset"]) / p["slope"],
            lambda p: 0.0,
            "x = (1 - offset) / slope (3 by default): f' = 0",
        ),
    ),
    trusted=(-1e3, 1e3),
    use="gates of mobile nets (a cheap sigmoid)",
    initializer=GLOROT,
    paper='Howard et al., 2019, "Searching for MobileNetV3", https://arxiv.org/abs/1905.02244',
    jax_nn="hard_sigmoid",
    example=(("slope", 0.2), ("offset", 0.5)),
    notes="The default is relu6(x + 3) / 6, as in jax.nn, Keras 3 and PyTorch.  Keras 2's "
    "hard_sigmoid was clip(0.2 x + 0.5, 0, 1): pass `slope=0.2`.",
    args="    slope: the slope of the linear part (1/6; Keras 2 used 0.2).\n"
    "    offset: the value at x = 0.\n",
)


sparse_sigmoid = elementwise(
    name="sparse_sigmoid",
    summary="Sparse sigmoid: the sigmoid of the sparsemax family (a clipped line).",
    formula="0 for x <= -1; (x + 1) / 2 for -1 < x < 1; 1 for x >= 1",
    derivative="1/2 for -1 < x < 1, else 0",
    output_range=(0.0, 1.0),
    # Halved last: the same numbers as clip(0.5 (x + 1), 0, 1), and on CPU a loop that ends in
    # a multiply is about 10% faster than one that ends in a clamp at 2^24 elements.
    forward=lambda x: 0.5 * jnp.minimum(jnp.maximum(x + 1.0, 0.0), 2.0),
    # Keeps x (as many bytes as y): the linear part is decided on x, -1 < x < 1.  From y it
    # cannot be: just below 1, (x + 1) / 2 rounds to 1 (f'(0.9999999999999999) is 1/2).
    partials=lambda x: (jnp.where((x > -1.0) & (x < 1.0), 0.5, 0.0),),
    reference=lambda x: jnp.clip(0.5 * (x + 1.0), 0.0, 1.0),
    saves="x",
    kinks=(
        Kink(lambda p: -1.0, lambda p: 0.0, "x = -1: f' = 0"),
        Kink(lambda p: 1.0, lambda p: 0.0, "x = 1: f' = 0"),
    ),
    trusted=(-1e3, 1e3),
    use="sparse gates and binary outputs that may be exactly 0 or 1",
    initializer=GLOROT,
    paper='Blondel et al., 2020, "Learning with Fenchel-Young Losses", '
    "https://arxiv.org/abs/1901.02324",
    jax_nn="sparse_sigmoid",
)


def _log_sigmoid_forward(x):
    # log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)): never overflows.  Written
    # out rather than with logaddexp, XLA keeps only y for the backward pass (4 MiB, not 32, in
    # the README's MLP training step).
    return jnp.minimum(x, 0.0) - log1p(exp(-jnp.abs(x)))


log_sigmoid = elementwise(
    name="log_sigmoid",
    summary="Log of the sigmoid.",
    formula="log(1 / (1 + exp(-x))) = -softplus(-x)",
    derivative="sigmoid(-x) = 1 - exp(f(x))",
    output_range=(-math.inf, 0.0),
    forward=_log_sigmoid_forward,
    # Keeps y: f' = 1 - exp(y) = -expm1(y), accurate in both tails.
    partials=lambda y: (-expm1(y),),
    reference=lambda x: jnp.log(1.0 / (1.0 + jnp.exp(-x))),
    saves="y",
    aliases=("logsigmoid",),
    trusted=(-100.0, 30.0),
    use="log-probabilities of binary outputs (stable binary cross-entropy)",
    initializer=GLOROT,
    paper='LeCun et al., 1998, "Efficient BackProp", https://doi.org/10.1007/3-540-49430-8_2',
    jax_nn="log_sigmoid",
)


_LOG_2 = math.log(2.0)


def _log1mexp_forward(x):
    # Maechler's switch: log(-expm1(-x)) near 0, log1p(-exp(-x)) beyond log 2; each branch is
    # finite wherever the other is taken.
    if dtype_kind(x) == "float64":
        # exp(-x) as hi + lo (XLA's float64 exp is 1.45 ulp off, which log1p(u) amplifies by
        # |u / ((1 + u) log1p(u))|, 1.3 at x = 1: 2.5 -> 1.2 ulp); log1p(u_hi + u_lo) is
        # log1p(u_hi) + u_lo / (1 + u_hi).
        e, e_lo = exp_parts(-x)
        far = log1p(-e) - e_lo / (1.0 - e)
    else:
        far = log1p(-jnp.exp(-x))
    return jnp.where(x < _LOG_2, jnp.log(-expm1(-x)), far)


log1mexp = elementwise(
    name="log1mexp",
    summary="log(1 - exp(-x)) for x > 0, computed without cancellation.",
    formula="log(1 - exp(-x))",
    derivative="1 / expm1(x) = expm1(-f(x))",
    output_range=(-math.inf, 0.0),
    forward=_log1mexp_forward,
    # Keeps x, though f' = expm1(-y) is a function of y: near x = 0, y = log(x) is large, and its
    # rounding alone makes expm1(-y) |y| eps off (700 ulps at the smallest float64), while
    # 1 / expm1(x) is accurate everywhere.  Accuracy wins over memory here.
    # exp(-x) / -expm1(-x) = 1 / expm1(x) without the overflow of expm1(x) for large x (which
    # would make the second derivative inf / inf).
    partials=lambda x: (jnp.exp(-x) / -expm1(-x),),
    reference=lambda x: jnp.log(1.0 - jnp.exp(-x)),
    saves="x",
    trusted=(0.1, 30.0),
    domain=(0.0, math.inf),
    use="log-probabilities: log(1 - p) from log(p) = -x (survival models, discrete flows)",
    initializer=GLOROT,
    paper='Maechler, 2012, "Accurately Computing log(1 - exp(-|a|))", '
    "https://cran.r-project.org/web/packages/Rmpfr/vignettes/log1mexp-note.pdf",
    jax_nn="log1mexp",
    notes="Defined for x > 0; x = 0 gives -inf and x < 0 gives NaN, as jax.nn.log1mexp.",
)


_TANH_SHRINK_SWITCH = 1.0


def _tanh_shrink_forward(x):
    # x - tanh(x) cancels for small |x| (x^3/3 is all that is left): the Taylor series there,
    # as (x^3 + x^3 x^2 P(x^2)) / 3 so that 1/3 is not a rounded coefficient (a division by 3
    # rounds once; the float32 1/3 is half an ulp off before any arithmetic).
    # x^3 is carried as hi + lo (Dekker's exact products), and the sum and the division by 3
    # are compensated (the sum as hi + lo, 3 q exact and the remainder divided in): next to
    # |x| = 1 the series' tail is 0.3 of x^3, and with the sum and the division each rounded
    # it was 2.15 ulp (float32) and 2.3 (float64) on dense grids, now 1.4 and 1.6.  A tiny x
    # is scaled up by 2^b first (b: the significand's bits), or the partial products of the lo
    # parts would be subnormal, flushed, and lo wrong.
    a = jnp.abs(x)
    small = a < _TANH_SHRINK_SWITCH
    xs = jnp.where(small, x, 0.0)
    bits = jnp.finfo(x.dtype).nmant + 1
    tiny = a < 2.0 ** -(bits // 2)
    xk = jnp.where(tiny, xs * 2.0**bits, xs)
    x2, x2_lo = two_product(xk, xk)
    x3, x3_lo = two_product(xk, x2)
    xs2 = xs * xs  # unscaled, for the correction
    tail = jnp.zeros_like(x)
    for c in reversed(TANH_SHRINK_SERIES[1 : 44 if x.dtype == jnp.float64 else 20]):
        tail = tail * xs2 + 3.0 * c
    s, s_lo = two_sum(x3, rounded(x3 * (xs2 * tail)))
    s_lo = s_lo + (x3_lo + xk * x2_lo)
    q = s / 3.0
    p, p_lo = two_sum(2.0 * q, q)  # 3 q exactly
    series = q + (((s - p) - p_lo) + s_lo) / 3.0
    series = jnp.where(tiny, series * 2.0 ** (-3 * bits), series)
    # Beyond, x - tanh(x) = (|x| - 1) + 2 / (1 + exp(2|x|)) with the sign of x: |x| - 1 is
    # exact up to 2, and the small positive remainder has no cancellation (x - tanh(x) itself
    # would amplify tanh's rounding fourfold near |x| = 1).  Beyond |x| = 20 the remainder is
    # below half an ulp of |x| - 1 in float64; the clip keeps exp finite.
    beyond = (a - 1.0) + 2.0 / (1.0 + exp(2.0 * jnp.where(small, 1.0, upto_20(a))))
    return jnp.where(small, series, jnp.sign(x) * beyond)


tanh_shrink = elementwise(
    name="tanh_shrink",
    summary="Tanh shrink: x - tanh(x).",
    formula="x - tanh(x)",
    derivative="tanh(x)^2",
    output_range=(-math.inf, math.inf),
    forward=_tanh_shrink_forward,
    # Keeps x: f' = tanh(x)^2 is not a function of y that is cheap to invert.
    partials=lambda x: (jnp.square(accurate_tanh(x)),),
    reference=lambda x: x - jnp.tanh(x),
    saves="x",
    aliases=("tanhshrink",),
    trusted=(-1e3, 1e3),
    use="sparse coding layers; residual of a tanh",
    initializer=GLOROT,
    paper='Paszke et al., 2019, "PyTorch: An Imperative Style, High-Performance Deep '
    'Learning Library" (torch.nn.Tanhshrink), https://arxiv.org/abs/1912.01703',
)
