"""Smooth units: sigmoid-like squashing functions, softplus-like rectifiers and smooth gates."""

from __future__ import annotations

import functools
import math
from decimal import Decimal, localcontext
from fractions import Fraction
from importlib import resources
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from actfn._core import (
    Kink,
    Param,
    dtype_kind,
    elementwise,
    exp,
    exp_parts,
    expm1,
    horner,
    log1p,
    narrow_input,
    opaque,
    rounded,
    split,
    split_constant,
    times_gate,
    two_product,
    two_sum,
)

HE = "he_normal"
GLOROT = "glorot_uniform"
_POSITIVE = {"valid": lambda v: v > 0, "valid_text": "> 0"}
_NON_NEGATIVE = {"valid": lambda v: v >= 0, "valid_text": ">= 0"}
_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_GELU_C = math.sqrt(2.0 / math.pi)
_TANH_GELU_K = 0.044715


def sigmoid_pair(z):
    """sigmoid(z) and sigmoid(-z) = 1 - sigmoid(z), each accurate in its own tail.

    From one exp(-|z|) = e: 1 / (1 + e) and e / (1 + e) are sigmoid(|z|) and sigmoid(-|z|),
    both to a few ulps; one exp (not two sigmoids) also lets XLA fuse the whole backward pass
    into one loop (mish, when it used this: 20 bytes moved per element instead of 32).  glu's
    gate derivative uses it; silu, swiglu and mish use `logistic_parts`, which also keeps
    x sigmoid(x) where sigmoid(x) is subnormal.
    """
    e = jnp.exp(-jnp.abs(z))
    big = 1.0 / (1.0 + e)
    small = e * big
    positive = z >= 0
    return jnp.where(positive, big, small), jnp.where(positive, small, big)


@functools.cache
def _decimal_pi(digits: int) -> Decimal:
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


# Beyond z = -k the logistic sigmoid(z) = 1 / (1 + exp(-z)) is computed over e^-k, to be
# multiplied in last: x sigmoid(z) is normal where sigmoid(z) is not (silu(-90) = -7e-38, and
# sigmoid(-90) = 8e-40 is flushed to 0 on CPU).  k is where e^-k rounds best (within 0.01 eps
# in float32 and 0.007 in float64); exp's argument is clipped at `top` to stay finite (beyond,
# the product is below the normal range for every x but the very largest).
_LOGISTIC_FAR = {"float32": (86.0, 86.0 + 88.0), "float64": (698.0, 698.0 + 709.0)}


class Logistic(NamedTuple):
    d: jax.Array  # 1 + exp(-z), scaled by e^-k where far
    t: jax.Array  # sigmoid(-z)
    c: jax.Array  # sigmoid(z) = c / d
    far: jax.Array  # z < -k


def logistic_parts(z) -> Logistic:
    """The pieces of sigmoid(z) and sigmoid(-z) for products with x that stay in range.

    d = 1 + exp(-z), so that x sigmoid(z) = x / d rounds once (x * sigmoid(z) rounds twice
    after the division: silu 2.3 -> 1.6 ulp).  Where z < -k (far), exp is taken over e^k:
    d = e^-k + exp(-z - k) and c = e^-k, so that c / d is sigmoid(z) with d in range; elsewhere
    c = 1.  (Each select costs on CPU: one shift select and d = c + e, not a select per piece,
    made silu's forward pass 20% faster.)
    """
    k, top = _LOGISTIC_FAR[dtype_kind(z)]
    w = -z
    far = w > k
    e = exp(jnp.clip(w, -top, top) - jnp.where(far, k, 0.0))  # (float64: see _core.exp)
    c = jnp.where(far, math.exp(-k), 1.0)
    d = c + e  # where far, c is below e's rounding
    # (e / d is 1 where far; written as a select, XLA's CPU backend keeps mish's backward
    # pass in one loop: 20 bytes moved per element, not 64.)
    return Logistic(d, jnp.where(far, 1.0, e / d), c, far)


def beyond_logistic(z):
    """Where z is below logistic_parts' clip: x sigmoid(z) is 0 there but for |x| near the
    largest float with |beta| below 1e-34 (float32), and the clipped d would not give 0."""
    return z < -_LOGISTIC_FAR[dtype_kind(z)][1]


# Next to a simple zero x0 of f' (silu, gelu, mish), f' is a sum of terms of order 1 that
# cancel: an absolute error of a few eps is a relative error without bound (silu: 230 ulp on a
# 1,500-point grid).  Within RADIUS of x0, f'(x) = d P(d), d = x - x0 with x0 as hi + lo (x - hi
# is exact), and P a Chebyshev fit of f'(x0 + d) / d within an eighth of an eps
# (tools/fit_derivative_roots.py).  Outside the window the general formula is within 8 ulp.
_ROOT_RADIUS = 0.4
_DERIVATIVE_ROOTS = {
    "silu": (
        Decimal("-1.278464542761073795109358739022980155439"),
        (0.2178117057198001, 0.14664879766261693, 0.018874814284630212, -0.01522271074945348,
         -0.006606594228069279, 0.00012788002249132516, 0.000798637561610031,
         0.00017520527299880526, -4.189199253103808e-05),
        (0.2178117057198001, 0.14664879699694686, 0.018874814223782326, -0.015222655223178175,
         -0.006606589138359417, 0.0001266274094147162, 0.0007985218820233756,
         0.00018570726350572138, -4.090534783363644e-05, -2.973384771445886e-05,
         -2.9425485925120592e-06, 2.3485521785572204e-06, 8.592896254949062e-07,
         -4.1222409522468806e-08, -8.984819942405851e-08),
    ),
    "gelu": (
        Decimal("-0.7517915246935644574579049467795240396645"),
        (0.4314939923140469, 0.3882849787894399, -0.01819967832063773, -0.11400788294975417,
         -0.01477136181049341, 0.019413781510312846, 0.0045356101901372955,
         -0.0021734171251586803, -0.0007144690428749874),
        (0.4314939923140469, 0.388284982990552, -0.01819967639867117, -0.11400823329722033,
         -0.014771522148224643, 0.01942167983809646, 0.004539228377795263,
         -0.0022395380653459046, -0.0007448267990467245, 0.00018633970530052986,
         8.615887214407744e-05, -1.1214056133615595e-05, -7.743484105195076e-06,
         4.315893417227798e-07, 5.494062819163377e-07),
    ),
    "gelu_tanh": (
        Decimal("-0.7524614220710162584879544432889160906054"),
        (0.4304000910248585, 0.3875184403334428, -0.015782856256993685, -0.11394399879390231,
         -0.016619100066095363, 0.019671366747968235, 0.00525590179147329,
         -0.002330637813182504, -0.0008840481904144854),
        (0.4304000910248585, 0.3875184461357889, -0.015782853521848036, -0.11394448308095462,
         -0.016619328343050306, 0.019682309459450948, 0.00526105925472406,
         -0.002422731830835693, -0.0009274420152302726, 0.0002639273263482654,
         0.0001242521151406037, -3.495244215208736e-05, -1.594896050311977e-05,
         5.893313638104327e-06, 2.420383804936924e-06, -8.980673769662941e-07,
         -3.8299640394489464e-07),
    ),
    "mish": (
        Decimal("-1.192431214515495212137588340420739405601"),
        (0.2669479140495345, 0.20473126518458903, 0.041907822320012514, -0.020271914382528823,
         -0.01582123295894657, -0.0033586452898070863, 0.0010948012995971542,
         0.0009732681819545227, 0.00023413067282658628),
        (0.2669479140495345, 0.20473126408010583, 0.04190782104360952, -0.020271822716679364,
         -0.015821126561650963, -0.003360684927329182, 0.0010924055353828464,
         0.0009898181099789662, 0.000254129529312438, -4.196158334982201e-05,
         -5.583144132992703e-05, -1.7299034550719888e-05, 9.633692757657351e-07,
         2.912005878100319e-06, 9.859940194971414e-07),
    ),
    # snake's df/da at a = 1 as a function of u = ax (even in u: taken at |u|), next to its
    # first zero (the later ones: `_snake_h`).
    "snake_a": (
        Decimal("1.165561185207211306833917977958560669135"),
        (-1.6065110166377141, -2.378315447963195, 0.10485887601770744, 1.2522082040274993,
         0.1722576451191134, -0.2281722770756717, -0.03480215749197033, 0.020279586812300195,
         0.0029044943354282968),
        (-1.6065110166377141, -2.378315473290329, 0.1048588727228648, 1.2522103155268751,
         0.1722579197958816, -0.2282198408824321, -0.034808344203390115, 0.020677021861531978,
         0.0029561762332230954, -0.0011134497404127566, -0.0001446747158608076,
         3.9631288005961155e-05, 4.662613074086309e-06, -9.89352501429421e-07,
         -1.0587537254657591e-07),
    ),
}  # fmt: skip


def root_window(name, x):
    """Where `near_root` takes `name`'s polynomial: within _ROOT_RADIUS of its zero, and never
    for a bfloat16/float16 x (never close enough to the zero to tell)."""
    if narrow_input():
        return jnp.zeros_like(x, dtype=bool)
    hi = split_constant(_DERIVATIVE_ROOTS[name][0], dtype_kind(x))[0]
    return jnp.abs(x - hi) < _ROOT_RADIUS


def near_root(name, x, general, x_lo=0.0):
    """`name`'s f'(x): `general` (an array), or d P(d) in `root_window` (x_lo: the rounding
    error of x, where x is itself a rounded product)."""
    if narrow_input():
        return general
    kind = dtype_kind(x)
    root, p32, p64 = _DERIVATIVE_ROOTS[name]
    hi, lo, _ = split_constant(root, kind)
    # d = x - hi - lo; XLA would fold the two constants of (x - hi) - lo into one (losing lo),
    # so d P(d) is d_hi P - lo P, with P taken at d_hi (lo is below half an ulp of x: P moves
    # by a fraction of its own ulp).
    d_hi = x - hi
    p = horner(p64 if kind == "float64" else p32, d_hi)
    if isinstance(x_lo, float):
        d_p = d_hi * p - lo * p
    else:  # (d_hi + x_lo is exact where the two cancel, next to the zero)
        d_p = ((d_hi + x_lo) - lo) * p
    return jnp.where(root_window(name, x), d_p, general)


def economized(series, upto: float, terms: int) -> tuple[float, ...]:
    """A power series in t shortened to `terms` coefficients for 0 <= t <= upto, by
    Chebyshev's truncation (economization): near-minimax, with no fitting run to keep."""
    chebyshev = np.polynomial.Polynomial(series).convert(
        kind=np.polynomial.Chebyshev, domain=[0.0, upto]
    )
    power = chebyshev.truncate(terms).convert(kind=np.polynomial.Polynomial)
    return tuple(float(c) for c in power.coef)


def _expm1_series(y, terms: int):
    """exp(y) - 1 for a small y (the tables' corrections), its Taylor series to y^terms."""
    return y * horner(tuple(1.0 / math.factorial(n) for n in range(1, terms + 1)), y)


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
        # (Below -88 e is inf and d - e NaN, but y^2 is 0 there already.)
        r = jnp.where(x > -88.0, opaque(1.0, x.dtype) - (d - e), 0.0)
        return y - (y * y) * r
    e, e_lo = exp_parts(-jnp.abs(x))
    d, d_lo = two_sum(1.0, e)
    d_lo = d_lo + e_lo
    big = 1.0 / d
    big = big - big * (d_lo * big)
    q = e / d
    small = q + (e_lo - q * d_lo) / d
    return jnp.where(x >= 0.0, big, small)


# ---------------------------------------------------------------------------------------------
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
_TANH_SHRINK_SERIES = _tanh_shrink_coefficients(44)
_TANH_SHRINK_SWITCH = 1.0
# tanh: x - x^3 P(x^2) below 0.625 (float32) or 0.7 (float64), exp above (where
# 2 / (1 + exp(2|x|)) is below 0.45 of 1, so its roundings reach tanh damped).  P is the series
# economized by Chebyshev's truncation on [0, switch^2]: 6 terms (within 0.01 eps; the Taylor
# series needs 8) and 13 (within 0.1 eps).
_TANH_SWITCH = {"float32": 0.625, "float64": 0.7}
_TANH_NEAR = {
    "float32": economized(_TANH_SHRINK_SERIES, _TANH_SWITCH["float32"] ** 2, 6),
    "float64": economized(_TANH_SHRINK_SERIES, _TANH_SWITCH["float64"] ** 2, 13),
}


def _upto_20(a):
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
    far = 1.0 - 2.0 / (1.0 + exp(2.0 * _upto_20(a)))
    # (Selects, not sign(x) * far: float32 forward 2.0 -> 1.8 of XLA's tanh time on CPU, with
    # the shorter P.)
    return jnp.where(small, near, jnp.where(x < 0.0, -far, far))


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


def _softplus_partials(y, beta):
    # Keeps y: with s = sigmoid(beta x) = 1 - e, e = exp(-beta y), and beta x = beta y + log(s),
    # f' = s and df/dbeta = (s log(s) / beta - y e) / beta.  1 - s and log(s) are e and
    # log1p(-e) where s is near 1 (from the rounded s they cancel: 7 eps in df/dbeta at x = 19);
    # s log(s) is 0 as s -> 0.  (expm1 computes exp of the same argument: XLA shares it.)
    z = -beta * y
    s, e = -expm1(z), jnp.exp(z)
    log_s = jnp.where(e < 0.5, log1p(-jnp.minimum(e, 0.5)), jnp.log(jnp.where(s > 0, s, 1.0)))
    return s, (jnp.where(s > 0, s * log_s, 0.0) / beta - y * e) / beta


softplus = elementwise(
    name="softplus",
    summary="Softplus, a smooth relu, with PyTorch's sharpness `beta`.",
    formula="log(1 + exp(beta * x)) / beta",
    derivative="sigmoid(beta * x) = 1 - exp(-beta * f(x))",
    output_range=(0.0, math.inf),
    # max(z, 0) + log1p(exp(-|z|)), z = beta x, never overflows (our log1p: 2.8 -> 2.2 ulp in
    # float32 on a dense grid, and the forward pass is faster than with XLA's log1p).
    forward=lambda x, beta: (jnp.maximum(beta * x, 0.0) + log1p(exp(-jnp.abs(beta * x)))) / beta,
    partials=_softplus_partials,
    reference=lambda x, beta: jnp.log1p(jnp.exp(beta * x)) / beta,
    saves="y",
    params=(Param("beta", 1.0, **_POSITIVE),),
    trusted=(-300.0, 150.0),
    use="hidden layers; outputs that must be positive (scales, rates, variances)",
    initializer=HE,
    paper='Dugas et al., 2000, "Incorporating Second-Order Functional Knowledge for Better '
    'Option Pricing", https://proceedings.neurips.cc/paper/2000/hash/'
    "44968aece94f667e4095002d140b5896-Abstract.html",
    jax_nn="softplus",
    example=(("beta", 2.0),),
    notes="PyTorch's `threshold` switch (return x when beta * x > 20) is not copied: it makes "
    "the function discontinuous, and the stable formula needs no switch.",
    args="    beta: the sharpness, > 0.\n",
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


def _exponential(x):
    # XLA's float32 exp loses accuracy next to overflow (5 ulp at 88.7, against 0.9 below 88):
    # there exp(x) = exp(x - 3) e^3, with x - 3 exact and e^3 within 0.014 eps in float32.
    # float64 takes _core.exp (XLA's: 1.45 ulp).
    if x.dtype != jnp.float32:
        return exp(x)
    high = x > 88.0
    return jnp.exp(jnp.where(high, x - 3.0, x)) * jnp.where(high, math.exp(3.0), 1.0)


exponential = elementwise(
    name="exponential",
    summary="Exponential.",
    formula="exp(x)",
    derivative="exp(x) = f(x)",
    output_range=(0.0, math.inf),
    forward=_exponential,
    # Keeps y: f' = y.
    partials=lambda y: (y,),
    reference=jnp.exp,
    saves="y",
    trusted=(-700.0, 700.0),
    use="output layer for positive targets (Poisson rates, scales)",
    initializer=GLOROT,
    paper='Chollet et al., 2015, "Keras" (keras.activations.exponential), '
    "https://keras.io/api/layers/activations/",
)

identity = elementwise(
    name="identity",
    summary="Identity (linear activation): returns x.",
    formula="x",
    derivative="1",
    output_range=(-math.inf, math.inf),
    forward=lambda x: x,
    # Keeps nothing: f' = 1.
    partials=lambda saved: (1.0,),
    reference=lambda x: x,
    saves=None,
    aliases=("linear",),
    trusted=(-1e3, 1e3),
    use="output layer of regression",
    initializer=GLOROT,
    paper="none (textbook)",
    jax_nn="identity",
)


# ---------------------------------------------------------------------------------------------
def _hard_sigmoid_z(x, slope, offset):
    # slope * (x + offset / slope) puts the lower kink exactly at the rounded -offset / slope.
    return slope * (x + offset / slope)


def _hard_sigmoid_partials(x, slope, offset):
    # Keeps x: the slope's derivative is x itself inside the linear part.
    z = _hard_sigmoid_z(x, slope, offset)
    inside = (z > 0) & (z < 1)
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
    # Keeps y: 0 < y < 1 is exactly the linear part (y = 0 or 1 at the kinks).
    partials=lambda y: (jnp.where((y > 0) & (y < 1), 0.5, 0.0),),
    reference=lambda x: jnp.clip(0.5 * (x + 1.0), 0.0, 1.0),
    saves="y",
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
    for c in reversed(_TANH_SHRINK_SERIES[1 : 44 if x.dtype == jnp.float64 else 20]):
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
    beyond = (a - 1.0) + 2.0 / (1.0 + exp(2.0 * jnp.where(small, 1.0, _upto_20(a))))
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


# ---------------------------------------------------------------------------------------------
def _squareplus_forward(x, b):
    # (x + r) / 2, r = sqrt(x^2 + b), cancels for every x < 0 (by r / (x + r): 3.3 ulp at
    # x = -1.96 with b = 4); there the same number is (b/2) / (r - x).  For |x| < s = sqrt(b)
    # the denominator is summed as s + (|x| + w), w = r - s = (x^2 + b - s^2) / (r + s) (b - s^2
    # exact by Dekker's product): r itself would bring the roundings of x^2 + b and of the
    # square root, where w carries them damped (float32 2.7 -> 1.4 ulp for -1 < x < 0).
    # Beyond 2^60, r is |x| to the dtype's precision (and x^2 would overflow), so y is x itself
    # on the right and b / (4|x|) on the left.  One division for all three pieces of the left
    # (a division per piece made the forward pass twice as slow on CPU).
    a = jnp.abs(x)
    big = a > 2.0**60
    am = jnp.minimum(a, 2.0**60)
    r = jnp.sqrt(jnp.square(am) + b)
    root_b = jnp.sqrt(b)
    p, p_lo = two_product(root_b, root_b)
    w = (jnp.square(am) + ((b - p) - p_lo)) / (r + root_b)
    den = jnp.where(a < root_b, root_b + (am + w), r + am)
    left = jnp.where(big, 0.25 * b, 0.5 * b) / jnp.where(big, a, den)
    y = jnp.where(x < 0.0, left, 0.5 * (x + jnp.where(big, a, r)))
    return jnp.where(x > 2.0**60, x, y)


def _squareplus_partials(y, b):
    # Keeps y: y^2 - x y - b/4 = 0 gives sqrt(x^2 + b) = y + b / (4 y), so
    # f' = y / (y + b/(4y)) and df/db = 1 / (4 y + b / y), written to avoid y^2 overflowing.
    positive = y > 0
    safe = jnp.where(positive, y, 1.0)
    dx = jnp.where(positive, 1.0 / (1.0 + (0.25 * b / safe) / safe), 0.0)
    db = jnp.where(positive, 1.0 / (4.0 * safe + b / safe), 0.0)
    return dx, db


squareplus = elementwise(
    name="squareplus",
    summary="Squareplus: an algebraic softplus.",
    formula="(x + sqrt(x^2 + b)) / 2",
    derivative="(1 + x / sqrt(x^2 + b)) / 2 = y^2 / (y^2 + b/4)",
    output_range=(0.0, math.inf),
    forward=_squareplus_forward,
    partials=_squareplus_partials,
    reference=lambda x, b: 0.5 * (x + jnp.sqrt(x * x + b)),
    saves="y",
    params=(Param("b", 4.0, **_NON_NEGATIVE),),
    trusted=(-30.0, 1e3),
    use="hidden layers; a softplus without exp or log",
    initializer=HE,
    paper='Barron, 2021, "Squareplus: A Softplus-Like Algebraic Rectifier", '
    "https://arxiv.org/abs/2112.11687",
    jax_nn="squareplus",
    example=(("b", 1.0),),
    args="    b: the curvature at 0, >= 0 (b = 0 gives relu).\n",
)


def _sparse_plus_partials(y):
    # Keeps y: f' = sqrt(y) on the quadratic part and 1 beyond, so min(sqrt(y), 1); the safe
    # sqrt keeps the second derivative finite where y = 0.
    positive = y > 0
    return (jnp.where(positive, jnp.minimum(jnp.sqrt(jnp.where(positive, y, 1.0)), 1.0), 0.0),)


sparse_plus = elementwise(
    name="sparse_plus",
    summary="Sparse plus: the softplus of the sparsemax family (a smooth relu with a flat zero).",
    formula="0 for x <= -1; (x + 1)^2 / 4 for -1 < x < 1; x for x >= 1",
    derivative="0 for x <= -1; (x + 1) / 2 for -1 < x < 1; 1 for x >= 1",
    output_range=(0.0, math.inf),
    forward=lambda x: jnp.where(x <= -1.0, 0.0, jnp.where(x >= 1.0, x, 0.25 * jnp.square(x + 1.0))),
    partials=_sparse_plus_partials,
    reference=lambda x: jnp.where(x <= -1.0, 0.0, jnp.where(x >= 1.0, x, 0.25 * (x + 1.0) ** 2)),
    saves="y",
    aliases=("sparseplus",),
    trusted=(-1e3, 1e3),
    use="hidden layers wanting exact zeros with a continuous derivative",
    initializer=HE,
    paper='Blondel et al., 2020, "Learning with Fenchel-Young Losses", '
    "https://arxiv.org/abs/1901.02324",
    jax_nn="sparse_plus",
)


# ---------------------------------------------------------------------------------------------
def _silu_forward(x, beta):
    # x / (1 + exp(-z)), z = beta x: one rounding after the sum (see logistic_parts).  Beyond
    # the clip of exp's argument (and at z = -inf) it is 0.
    z = beta * x
    d, _, c, _ = logistic_parts(z)
    # (c is 1 but where far: one division with one user keeps XLA's loop fused.)
    return jnp.where(beyond_logistic(z), 0.0, (x / d) * c)


def _silu_partials(x, beta):
    # Keeps x: f' = s (1 + z t), z = beta x, is not a function of y.  s = c / d, t = 1 - s; the
    # products are grouped as x t (x c where far, and t = 1) so that a huge x meets an exact 0
    # or the scale, never inf * 0 or a product past the largest float.  At z = +inf the limits
    # of f' and df/dbeta = x^2 s t are 1 and 0; beyond the clip (and at z = -inf) both are 0.
    z = beta * x
    d, t, c, far = logistic_parts(z)
    r = 1.0 / d
    xt = times_gate(x, jnp.where(far, c, t))
    dx = jnp.where(far, (r * (1.0 + z)) * c, r + beta * xt * r)
    gone = beyond_logistic(z)
    # f' = 0 at z = -1.278: there from a polynomial in z - z0 (exact for beta = 1; for other
    # beta, the rounding of z itself limits f' next to its zero).
    dx = near_root("silu", z, jnp.where(gone, 0.0, dx))
    # df/dbeta = (x s)(x t), (x r)(x c) where far.  Where z > k, t is below the normal range
    # and x^2 t is not (x = 90): there t = exp(k - z) e^-k, from an exp of its own, which XLA
    # drops when beta's gradient is not wanted.
    k, top = _LOGISTIC_FAR[dtype_kind(z)]
    up = z > k
    t_up = jnp.where(up, jnp.exp(k - jnp.minimum(z, top)), jnp.where(far, c, t))
    d_beta = ((x * r) * times_gate(x, t_up)) * jnp.where(up, math.exp(-k), 1.0)
    return dx, jnp.where(gone | (z == jnp.inf), 0.0, d_beta)


def silu_value(b):
    """silu(b) = b sigmoid(b), beta = 1: swiglu's gate, the same computation as `silu`."""
    return _silu_forward(b, 1.0)


def silu_derivative(b):
    """silu'(b), beta = 1: swiglu's gate derivative, the same computation as `silu`'s."""
    return _silu_partials(b, 1.0)[0]


silu = elementwise(
    name="silu",
    summary="SiLU / swish: x * sigmoid(beta * x).",
    formula="x * sigmoid(beta * x)",
    derivative="s + beta x s (1 - s), s = sigmoid(beta x); df/dbeta = x^2 s (1 - s)",
    output_range=(-0.2784645427610738, math.inf),
    forward=_silu_forward,
    partials=_silu_partials,
    reference=lambda x, beta: x / (1.0 + jnp.exp(-beta * x)),
    saves="x",
    params=(Param("beta", 1.0),),
    aliases=("swish",),
    trusted=(-200.0, 300.0),
    use="hidden layers of vision and language models",
    initializer=HE,
    paper='Ramachandran et al., 2017, "Searching for Activation Functions", '
    'https://arxiv.org/abs/1710.05941; Elfwing et al., 2017, "Sigmoid-Weighted Linear Units '
    'for Neural Network Function Approximation in Reinforcement Learning", '
    "https://arxiv.org/abs/1702.03118",
    jax_nn="silu",
    example=(("beta", 1.5),),
    notes="`swish` and `silu` are the same function; beta = 1 is SiLU.  The output range is "
    "for beta = 1.",
    args="    beta: the sharpness of the gate (a number or a learnable array).\n",
)


# The scaled Mills ratio R(t) = Phi(-t) exp(t^2 / 2) is written K / (t + T(t)), K = 1 / sqrt(2 pi)
# rounded to the dtype, and T(t) = K / R(t) - t (0.80 at 0, ~ 1/t for large t) is P(t) / Q(t),
# our own minimax fits (tools/fit_gaussian_tail.py; max relative error 2.5e-11 on [0, 14] and
# 2e-20 on [0, 40]).  T absorbs K's own rounding (0.24 eps in float32: a bias in every result,
# 3.4 -> 3.0 ulp), T's rounding reaches R damped by T / (t + T), and P and Q have positive
# coefficients: Horner's rule on t >= 0 does not cancel.
_TAIL_FITS = {
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
    top, p, q_fit = _TAIL_FITS[kind]
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
_TABLE_STEP, _T_SCALE = 128.0, 2.0**32


class _TailTable(NamedTuple):
    hi: np.ndarray  # Phi(-g) scale, rounded
    lo: np.ndarray  # the rest of Phi(-g) scale
    hazard: np.ndarray  # phi(g) / Phi(-g)
    top: float  # the last g
    scale: float
    order: int  # the terms of log Phi(-(g + d)) - log Phi(-g) in d
    terms: int  # of exp(y) - 1


def _build_gaussian_tail_table() -> _TailTable:
    g = np.arange(int(14.0 * _TABLE_STEP) + 1) / _TABLE_STEP
    tail = np.array([0.5 * math.erfc(v / math.sqrt(2.0)) for v in g])
    scaled = tail * 2.0**64
    hi = scaled.astype(np.float32)
    lo = (scaled - hi).astype(np.float32)
    hazard = (np.exp(-0.5 * g * g) * _INV_SQRT_2PI / tail).astype(np.float32)
    return _TailTable(hi, lo, hazard, 14.0, 2.0**64, 3, 5)


def _load_gaussian_tail_table() -> _TailTable:
    with resources.files("actfn").joinpath("_gaussian_tail_float64.npy").open("rb") as f:
        hi, lo, hazard = np.load(f)
    # |y| < 0.15 (H d at g = 38): d^6 and 13 terms of its exp reach 2^-60.
    return _TailTable(hi, lo, hazard, 38.0, 2.0**128, 6, 13)


_GAUSSIAN_TAIL_TABLE = {
    "float32": _build_gaussian_tail_table(),
    "float64": _load_gaussian_tail_table(),
}


def _table_grid(x, top: float, size: int):
    """t = min(|x|, top), its nearest grid point g = k / 128, d = t - g, and k as an index into
    a table of `size` entries (clipped for NaN, whose integer conversion is arbitrary; the
    result is NaN anyway)."""
    t = jnp.minimum(jnp.abs(x), top)
    k = jnp.round(t * _TABLE_STEP)
    g = k / _TABLE_STEP
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
    table = _GAUSSIAN_TAIL_TABLE[dtype_kind(x)]
    t, g, d, i = _table_grid(x, table.top, table.hi.shape[0])
    a, b, h = jnp.asarray(table.hi)[i], jnp.asarray(table.lo)[i], jnp.asarray(table.hazard)[i]
    c = _expm1_series(_hazard_series(h, g, d, table.order), table.terms)
    # t 2^32 keeps the exact product's halves normal next to t = 0 (the low half of a t near
    # the smallest normal would flush, and p + e would lose 2^-12 of the product).
    ts = t * _T_SCALE
    p, e = two_product(ts, a)
    tb = ts * b
    return p, e + tb + (p * c + tb * c)


def _x_times_gate(x, w, top, scale):
    """x G(x) for a gate with G(x) = 1 - G(-x), from w = t G(-t) scale, t = min(|x|, top): -w
    for x < 0 and x - w for x >= 0, scaled back last.  x - w is taken at the table's scale
    too: x / 2 next to 0 would lose its last bits to a subnormal (flushed) w.  Beyond `top`,
    x G(-x) is below x's rounding, and below the smallest subnormal for x < 0 (w, taken at
    top, is not: -0 there, whether or not the device flushes subnormals)."""
    positive = jnp.where(x < top, x * scale - w, x)
    y = jnp.where(x < 0.0, -w, positive) * jnp.where(x < top, 1.0 / scale, 1.0)
    return jnp.where(x < -top, -0.0, y)


def _tabled(x, table, formula, kinds=("float32",)):
    """`table(x)` for an input of `kinds` on CPU and GPU, `formula(x)` elsewhere: on TPU, where
    gathers of per-element indices are known to be slow (not measured here), and for a 16-bit
    input (the formula's few float32 ulp vanish in its final rounding, and gelu's is 10-20%
    faster on this project's CPU)."""
    if dtype_kind(x) not in kinds or narrow_input():
        return formula(x)
    return jax.lax.platform_dependent(x, tpu=formula, default=table)


def _gelu_exact_from_table(x):
    p, e = _t_gaussian_tail_scaled(x)
    table = _GAUSSIAN_TAIL_TABLE[dtype_kind(x)]
    return _x_times_gate(x, p + e, table.top, table.scale * _T_SCALE)


def gelu_exact(x):
    # x Phi(x), with Phi(x) = 1 - Phi(-x) for x >= 0: Phi(-|x|) keeps its relative accuracy
    # down to the last normal number (1 + erf(x / sqrt 2) cancels to 0 there).
    return _tabled(x, _gelu_exact_from_table, _gelu_exact_formula, ("float32", "float64"))


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


# gelu's tanh form: z = C1 x + C3 x^3, C1 = 2 sqrt(2/pi), C3 = C1 0.044715, each as hi + lo.
with localcontext() as _context:
    _context.prec = 60
    _PI = _decimal_pi(60)
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
    g = np.arange(int(_GELU_TANH_CLIP["float32"] * _TABLE_STEP) + 1) / _TABLE_STEP
    e = np.exp(-(float(_C1) * g + float(_C3) * g**3))
    scaled = e / (1.0 + e) * _GELU_TANH_SCALE
    hi = scaled.astype(np.float32)
    return hi, (scaled - hi).astype(np.float32)


_GELU_TANH_TABLE = _build_gelu_tanh_table()


def _gelu_tanh_sigmoid_scaled(x):
    """(S hi, S lo) with S = sigmoid(-|z|) 2^64, z = C1 x + C3 x^3 (float32), and t = |x| and
    x clipped, from the table."""
    hi, lo = _GELU_TANH_TABLE
    top = _GELU_TANH_CLIP["float32"]
    t, g, d, i = _table_grid(x, top, hi.shape[0])
    c1, c3 = float(_C1), float(_C3)
    u = _expm1_series(-d * ((c1 + (3.0 * c3) * (g * g)) + d * ((3.0 * c3) * g + d * c3)), 6)
    a, b = jnp.asarray(hi)[i], jnp.asarray(lo)[i]
    s = a * (1.0 / _GELU_TANH_SCALE)  # (0 where below the normal range: C = u there)
    c = (u * (1.0 - s)) / (1.0 + u * s)
    return a, b + (a + b) * c, t, jnp.clip(x, -top, top)


def _gelu_tanh_from_table(x):
    # t S exact (t 2^32 keeps its halves normal), at the scale 2^96.
    s_hi, s_lo, t, _ = _gelu_tanh_sigmoid_scaled(x)
    ts = t * _T_SCALE
    p, e = two_product(ts, s_hi)
    y = _x_times_gate(
        x, p + (e + ts * s_lo), _GELU_TANH_CLIP["float32"], _GELU_TANH_SCALE * _T_SCALE
    )
    return jnp.where(jnp.abs(x) < 2.0**-60, 0.5 * x, y)


def gelu_tanh(x):
    # x sigmoid(z): (1 + tanh(z/2)) / 2 = sigmoid(z) has no cancellation for negative x, where
    # jax.nn's tanh form rounds to 0.
    return _tabled(x, _gelu_tanh_from_table, _gelu_tanh_formula)


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
    slope = (2.0 * _TANH_GELU_C) * (1.0 + 3.0 * _TANH_GELU_K * jnp.square(xc))
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
    slope = (2.0 * _TANH_GELU_C) * (1.0 + 3.0 * _TANH_GELU_K * jnp.square(xc))
    return jnp.where(
        positive, big + ((xc * small) * big) * slope * c, (small + (xc * small) * big * slope) * c
    )


def gelu_tanh_derivative(x):
    general = _tabled(x, _gelu_tanh_derivative_from_table, _gelu_tanh_derivative_formula)
    # f' = 0 at x = -0.752: there from a polynomial in x - x0.
    return near_root("gelu_tanh", x, general)


def _gelu_forward(x, approximate):
    return gelu_tanh(x) if approximate else gelu_exact(x)


def _gelu_reference(x, approximate=False):
    if approximate:
        return 0.5 * x * (1.0 + jnp.tanh(_TANH_GELU_C * (x + _TANH_GELU_K * x**3)))
    return 0.5 * x * (1.0 + jax.scipy.special.erf(x / _SQRT_2))


gelu = elementwise(
    name="gelu",
    summary="Gaussian error linear unit, exact (erf) or tanh-approximated.",
    formula="x Phi(x) = x (1 + erf(x / sqrt 2)) / 2; approximate: x sigmoid(2 sqrt(2/pi) "
    "(x + 0.044715 x^3))",
    derivative="Phi(x) + x phi(x); approximate: the derivative of the tanh form",
    output_range=(-0.16997120747990523, math.inf),
    forward=_gelu_forward,
    partials=lambda x, approximate: (
        gelu_tanh_derivative(x) if approximate else gelu_exact_derivative(x),
    ),
    reference=_gelu_reference,
    saves="x",
    options=(("approximate", False),),
    trusted=(-5.0, 5.0),
    use="hidden layers of transformers (BERT, GPT, ViT)",
    initializer=HE,
    paper='Hendrycks and Gimpel, 2016, "Gaussian Error Linear Units (GELUs)", '
    "https://arxiv.org/abs/1606.08415",
    jax_nn="gelu",
    jax_nn_kwargs=(("approximate", False),),
    example=(("approximate", True),),
    notes="Default: the exact erf form, as PyTorch and Keras.  `jax.nn.gelu` defaults to the "
    "tanh form (approximate=True); pass `approximate=True` for it.  Both forms are computed "
    "stably here.  The output range is for the exact form.",
    args="    approximate: False for the exact erf form, True for the tanh approximation.\n",
)


def _tanh_softplus(x):
    """tanh(softplus(x)) / c, sech(softplus(x))^2, sigmoid(x) / c and c, accurate in both tails.

    With s = sigmoid(x) = c / d and t = sigmoid(-x) = exp(-softplus(x)) (logistic_parts; c
    scales s out of the subnormal range, where mish(-90) = -7e-38 is not):
    tanh(softplus(x)) = (1 - t^2) / (1 + t^2) = s (1 + t) / (1 + t^2), free of the cancellation
    of 1 - t^2 as x -> -inf, and sech(softplus(x))^2 = 4 t^2 / (1 + t^2)^2, free of the
    cancellation of 1 - tanh^2 as x -> +inf.
    """
    d, t, c, _ = logistic_parts(x)
    q = 1.0 + jnp.square(t)
    return (1.0 + t) / (d * q), 4.0 * jnp.square(t / q), 1.0 / d, c


def _fit_mish_centre(degree: int = 8) -> tuple[float, ...]:
    """T(x) = tanh(softplus(x)) for -0.8 < x < 0.05 as a polynomial in d = x + 0.375: its
    interpolant at Chebyshev nodes, from float64's T (to ~1e-16; the fit is within 0.01 ulp of
    float32, T's nearest singularity being 2.4 away)."""
    nodes = 0.425 * np.cos(np.pi * (np.arange(degree + 1) + 0.5) / (degree + 1))
    values = np.tanh(np.log1p(np.exp(nodes - 0.375)))
    fit = np.polynomial.Polynomial.fit(nodes, values, degree).convert()
    return tuple(float(c) for c in fit.coef)


# float32 mish for -0.8 < x < 0: x T with T from the polynomial above.  There the 1 - g form
# below has g near 0.4, too large to damp g's roundings (2.3 ulp on a 30,001-point grid; 1.6
# with the polynomial, for 9 multiply-adds).  float64's form stays within 1.8 there.
_MISH_CENTRE = _fit_mish_centre()


def _ln2_multiple(bits: int, dtype) -> tuple[float, float]:
    """K = bits ln 2 rounded to dtype, and delta = bits ln 2 - K: exp(-K) = 2^-bits (1 + delta)
    to within delta^2 (2^-36 in float32, 2^-88 in float64)."""
    with localcontext() as context:
        context.prec = 50
        exact = bits * Decimal(2).ln()
        k = float(np.asarray(float(exact), dtype))
        return k, float(exact - Decimal(k))


# mish below x = -K: x exp(x) = (x exp(x + K)) 2^-bits (1 + delta), with x + K exact (x and K
# are multiples of K's last place, and |x + K| stays within K's binade) and the power of 2
# exact, so that the product and its correction round once after exp (before, e^-86 was a
# rounded scale multiplied in last, two roundings more: 2.0 ulp near x = -91).
_MISH_FAR = {
    kind: (bits, *_ln2_multiple(bits, kind)) for kind, bits in (("float32", 124), ("float64", 1007))
}


def _mish_forward(x):
    # With E = exp(-|x|), tanh(softplus(x)) is (1 + 2E) / (1 + 2E + 2E^2) for x >= 0 and
    # E (2 + E) / (2 + 2E + E^2) for x < 0.  Each is written 1 - g with a small g (below 0.4),
    # which damps g's roundings: y = x - x g, and for x < 0 y = xE - xE g with xE as hi + lo
    # (Dekker).  float32 3.1 -> 1.9 ulp, float64 4 -> 2 on dense grids.  Below x = -K, y is
    # x exp(x) from exp(x + K) (see _MISH_FAR), and g is 0 there.
    top = _LOGISTIC_FAR[dtype_kind(x)][1]
    bits, k, delta = _MISH_FAR[dtype_kind(x)]
    xn = jnp.maximum(x, -top)  # beyond, y is below the normal range; also keeps xE finite
    far = xn < -k
    e = exp(jnp.where(far, xn + k, -jnp.abs(x)))
    e_near = jnp.where(far, 0.0, e)
    p = 1.0 + e_near
    positive = x - x * ((2.0 * e_near * e_near) / (1.0 + 2.0 * e_near * p))
    b, b_lo = two_product(xn, e)
    # Between x = -K and -20, g is below 1e-8 and b's rounding is all that is left of it;
    # there b_lo would also leave the normal range (Dekker's error terms flushed to 0).  Where
    # far, b_lo carries b's rounding and delta the scale's (wherever y is normal, b is 2^bits
    # times larger, and its error terms are normal too: float32 b > 0.26).
    b_lo = jnp.where(far, b_lo + b * delta, jnp.where(x > -20.0, b_lo, 0.0))
    negative = b - (b * ((e_near * p) / (2.0 + e_near * (2.0 + e_near))) - b_lo)
    y = jnp.where(x >= 0.0, positive, negative * jnp.where(far, 2.0**-bits, 1.0))
    if dtype_kind(x) == "float32" and not narrow_input():
        y = jnp.where((x > -0.8) & (x < 0.0), x * horner(_MISH_CENTRE, x + 0.375), y)
    # Near 0, x g would leave the normal range before x does: there y = x tanh(log 2) = 0.6 x
    # (the next term, 0.32 x^2, is below the rounding).  The limit at +inf is inf (x - x g is
    # inf - inf * 0 there).
    y = jnp.where(jnp.abs(x) < 2.0**-60, 0.6 * x, y)
    return jnp.where(x == jnp.inf, x, y)


def _mish_partials(x):
    # Keeps x.  f' = T + x sech^2 sigmoid(x), T = tanh(softplus(x)); at x = +-inf the second
    # term is inf * 0, whose limit is 0 (and f'(-inf) = 0).  f' = 0 at x = -1.19: there from
    # a polynomial in x - x0.
    tanh_sp, sech2, s, c = _tanh_softplus(x)
    slope = (tanh_sp + jnp.where(jnp.isinf(x), 0.0, x * sech2) * s) * c
    return (near_root("mish", x, jnp.where(x == -jnp.inf, 0.0, slope)),)


mish = elementwise(
    name="mish",
    summary="Mish: x * tanh(softplus(x)).",
    formula="x tanh(softplus(x))",
    derivative="t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x))",
    output_range=(-0.30884303580467844, math.inf),
    forward=_mish_forward,
    partials=_mish_partials,
    reference=lambda x: x * jnp.tanh(jnp.log1p(jnp.exp(x))),
    saves="x",
    trusted=(-30.0, 300.0),
    use="hidden layers of vision models (YOLOv4)",
    initializer=HE,
    paper='Misra, 2019, "Mish: A Self Regularized Non-Monotonic Activation Function", '
    "https://arxiv.org/abs/1908.08681",
    jax_nn="mish",
)


def _hard_silu_partials(x):
    # Keeps x.  Kinks at -3 (one-sided 0 and -1/2: 0) and 3 (3/2 and 1: 1).
    return (jnp.where(x <= -3.0, 0.0, jnp.where(x >= 3.0, 1.0, (2.0 * x + 3.0) / 6.0)),)


hard_silu = elementwise(
    name="hard_silu",
    summary="Hard SiLU / hard swish: x * relu6(x + 3) / 6.",
    formula="x * relu6(x + 3) / 6",
    derivative="0 for x < -3; (2x + 3) / 6 for -3 < x < 3; 1 for x > 3",
    output_range=(-0.375, math.inf),
    forward=lambda x: times_gate(x, jnp.minimum(jnp.maximum(x + 3.0, 0.0), 6.0) / 6.0),
    partials=_hard_silu_partials,
    reference=lambda x: x * jnp.clip(x + 3.0, 0.0, 6.0) / 6.0,
    saves="x",
    aliases=("hard_swish", "hardswish"),
    kinks=(
        Kink(lambda p: -3.0, lambda p: 0.0, "x = -3: f' = 0"),
        Kink(lambda p: 3.0, lambda p: 1.0, "x = 3: f' = 1"),
    ),
    trusted=(-1e3, 1e3),
    use="hidden layers of mobile nets (a cheap swish)",
    initializer=HE,
    paper='Howard et al., 2019, "Searching for MobileNetV3", https://arxiv.org/abs/1905.02244',
    jax_nn="hard_silu",
)


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
    pi = Fraction(_decimal_pi(400))
    beta = Fraction(2**exponent) / pi
    beta -= math.floor(beta)
    denominator = continued_fraction_denominators(beta, 2**bits)[-1]
    m = -(-(2 ** (bits - 1)) // denominator) * denominator
    assert 2 ** (bits - 1) <= m < 2**bits
    turns = m * beta
    return float(m * 2**exponent), float(2 * pi * (turns - round(turns)))


# Where 2ax overflows, snake's f' takes ax = v + P with P from here (see `_snake_partials`).
_SNAKE_TOP = {"float32": _near_multiple_of_pi(24, 104), "float64": _near_multiple_of_pi(53, 971)}


def _load_snake_roots() -> dict[str, tuple[np.ndarray, ...]]:
    """The roots u_k of tan u = 2u, k = 1, 2, ... (tools/build_snake_roots_table.py) as words
    of each dtype that sum to it: float64's hi + lo (106 bits), and three float32s (72 bits;
    two would leave 2^-48 of u_k, which a product ax that is not a float can come closer to)."""
    with resources.files("actfn").joinpath("_snake_roots.npy").open("rb") as f:
        hi, lo = np.load(f)
    first = hi.astype(np.float32)
    rest = hi - first  # exact, as is rest - second below
    second = (rest + lo).astype(np.float32)
    third = ((rest - second) + lo).astype(np.float32)
    return {"float64": (hi, lo), "float32": (first, second, third)}


_SNAKE_ROOTS = _load_snake_roots()


def _pi_words(dtype) -> tuple[float, float, float]:
    """pi as three floats of dtype, each the rounding of what the ones before leave (float32:
    72 bits, float64: 159)."""
    words, rest = [], _decimal_pi(100)
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
_SNAKE_SERIES = (5.0 / 3.0, 83.0 / 15.0, 2407.0 / 105.0)
_SNAKE_LIMIT = {"float32": 2.0**21, "float64": 2.0**50}
# Within SNAKE_NEAR of a zero of h or of sin, the forms without cancellation take over.
_SNAKE_NEAR = 0.5

# sin(t) / t and cos(t) as polynomials in t^2, to t^16; the leading `terms` of them are within
# 2^-25 and 2^-56 of sin and cos for |t| <= 1/2 at 5 and 9 terms, for |t| <= 1/8 at 3 and 7.
_SIN_SERIES = tuple((-1.0) ** n / math.factorial(2 * n + 1) for n in range(9))
_COS_SERIES = tuple((-1.0) ** n / math.factorial(2 * n) for n in range(9))
_SERIES_TERMS = {  # (|t| <= 1/2, |t| <= 1/8)
    "float32": (5, 3),
    "float64": (9, 7),
}


def _sin_cos(t, terms: int):
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


class _SnakeOffsets(NamedTuple):
    k: jax.Array  # the nearest (k + 1/2) pi is m
    d: jax.Array  # |ax| - u_k, for the root u_k = m - e of tan u = 2u (k >= 1)
    c: jax.Array  # cos u_k
    known: jax.Array  # where u_k is known (tabled, or beyond the table)
    j: jax.Array  # the nearest multiple j pi of pi
    r: jax.Array  # |ax| - j pi, as hi + lo
    r_lo: jax.Array


def _snake_offsets(magnitude, magnitude_lo, table=True) -> _SnakeOffsets:
    """|ax| = magnitude + magnitude_lo (Dekker) against the nearest zero of h and of sin, from
    one reduction v = |ax| - m, m = (k + 1/2) pi: r = v -+ pi / 2, and d = v + e_k beyond the
    table (e_k from the series), d = |ax| - u_k from u_k's words within it.

    v + e_k is exact next to the root, where the two nearly cancel; so is v -+ pi / 2 next to
    j pi.  Without the `table` (on TPU, whose gathers are slow), d is known beyond it only.
    """
    kind = dtype_kind(magnitude)
    words = _SNAKE_ROOTS[kind]
    count = words[0].size
    k = jnp.maximum(jnp.round(magnitude * (1.0 / math.pi) - 0.5), 0.0)
    v, v_lo, m, m_lo = _minus_pi_times(magnitude, magnitude_lo, k + 0.5)
    # w = 1 / (2m): w0 = 1 / (2 m_hi) and its residual 1 - 2 m w0, the product 2 m_hi w0 exact.
    w0 = 0.5 / m
    q, q_lo = two_product(2.0 * m, w0)
    residual = -((rounded(q) - 1.0) + q_lo) - (2.0 * m_lo) * w0
    w2 = w0 * w0
    e, e_lo = w0, w0 * residual + (w0 * w2) * horner(_SNAKE_SERIES, w2)
    d = (v + e) + (v_lo + e_lo)
    e = e + e_lo  # (to the dtype's precision: s = 2 u_k c below takes c's relative error)
    c = _minus_one_to(k) * (e - e * (e * e) * (1.0 / 6.0))  # cos u_k = (-1)^k sin e
    tabled = k <= count
    if table:
        # From the roots themselves, where e's series would not converge: each difference
        # but the last is exact next to u_k (the words and |ax|'s two parts share its grid).
        index = jnp.clip(k, 1.0, float(count)).astype(jnp.int32) - 1
        root, *rest = (jnp.asarray(word)[index] for word in words)
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
    return _SnakeOffsets(k, d, c, known, j, r, r_lo)


def _minus_one_to(n):
    """(-1)^n for a whole float n."""
    return 1.0 - 2.0 * (n - 2.0 * jnp.floor(0.5 * n))


def _snake_sin_near_zeros(offsets: _SnakeOffsets, magnitude, general):
    """sin(|ax|): within SNAKE_NEAR of j pi (below LIMIT), (-1)^j sin(r) with r = |ax| - j pi
    as hi + lo (ax's rounding would cost sin a relative error of u_lo / sin, without bound);
    `general` elsewhere."""
    kind = dtype_kind(magnitude)
    r, r_lo = two_sum(offsets.r, offsets.r_lo)  # (r_lo may hold ax's rounding, as large as r)
    sin_r = r * horner(_SIN_SERIES[: _SERIES_TERMS[kind][0]], r * r) + r_lo
    near = (jnp.abs(r) < _SNAKE_NEAR) & (magnitude < _SNAKE_LIMIT[kind])
    return jnp.where(near, _minus_one_to(offsets.j) * sin_r, general)


def _snake_h(offsets: _SnakeOffsets, magnitude):
    """h(|ax|) = 2|u| cos|u| - sin|u| within SNAKE_NEAR of a root u_k (k >= 1) of tan u = 2u,
    with no cancellation; and where that is taken.

    With d = |ax| - u_k, c = cos u_k and s = sin u_k = 2 u_k c, h = 2 d c cos d -
    sin d (2|u| s + c): the first term is below 1 / (2 u_k^2) of the second, and each term is d
    times factors each rounded once.
    """
    kind = dtype_kind(magnitude)
    d, c = offsets.d, offsets.c
    s = 2.0 * (magnitude - d) * c
    sin_d, cos_d = _sin_cos(d, _SERIES_TERMS[kind][0])
    taken = (
        (offsets.k >= 1.0)
        & offsets.known
        & (jnp.abs(d) < _SNAKE_NEAR)
        & (magnitude < _SNAKE_LIMIT[kind])
    )
    return taken, (2.0 * d) * c * cos_d - sin_d * (2.0 * magnitude * s + c)


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
    u_lo = two_product(a, jnp.where(jnp.abs(u) < _SNAKE_LIMIT[kind], x, 0.0))[1]
    o = 2.0 * jnp.where(near, u_lo, 0.0)
    top, offset = _SNAKE_TOP[kind]
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
    # first, a polynomial in |u| - u0 fits a^2 df/da; from the second on, `_snake_h` takes h
    # from |u| - u_k.  Both take ax's rounding u_lo in, and so do sin and cos: sin(ax) =
    # sin(u) cos(u_lo) + cos(u) sin(u_lo), |u_lo| <= 1/8, and next to its zeros from
    # |ax| - j pi; cos(ax) likewise.
    # (The shorter u sin 2u - sin(u)^2 was tried: at |x| = 1e-19 in float32 it returns twice
    # the true value, where sin(u)^2 is subnormal; this form does not.)
    lo_sin, lo_cos = _sin_cos(u_lo, _SERIES_TERMS[kind][1])
    sin, cos = sin * lo_cos + cos * lo_sin, cos * lo_cos - sin * lo_sin
    magnitude, u_lo = jnp.abs(u), side * u_lo
    offsets = jax.lax.platform_dependent(
        magnitude, u_lo, tpu=functools.partial(_snake_offsets, table=False), default=_snake_offsets
    )
    sin_magnitude = _snake_sin_near_zeros(offsets, magnitude, side * sin)  # sin(|ax|)
    sin = side * sin_magnitude
    d_a = x * (2.0 * sin * cos) / a - jnp.square(sin / a)
    # The two forms next to zeros give a^2 df/da.  (Only there: a^2 d_a / a^2 would be 0 / 0
    # for float32 a = 1e-30, where a^2 underflows.)
    taken, h = _snake_h(offsets, magnitude)
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
    return jnp.where(jnp.isinf(x), x, x + bump / a)


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
    params=(Param("a", 1.0, **_POSITIVE),),
    trusted=(-1e3, 1e3),
    use="hidden layers of models of periodic signals (audio: BigVGAN, DAC)",
    initializer=HE,
    paper='Ziyin et al., 2020, "Neural Networks Fail to Learn Periodic Functions and How to Fix '
    'It", https://arxiv.org/abs/2006.08195',
    example=(("a", 0.5),),
    args="    a: the frequency, > 0 (a number or a learnable array, e.g. per channel).\n",
)
