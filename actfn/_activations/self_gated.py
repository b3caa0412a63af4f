"""Self-gated units: x times a gate of x itself (silu/swish, gelu, mish, hard_silu)."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import jax
import jax.numpy as jnp
import numpy as np

from actfn._numerics.elementary import exp, times_gate
from actfn._numerics.exact import split_constant, two_product
from actfn._numerics.gaussian import SQRT_2, gelu_exact, gelu_exact_derivative
from actfn._numerics.gelu_tanh import TANH_GELU_C, TANH_GELU_K, gelu_tanh, gelu_tanh_derivative
from actfn._numerics.logistic import (
    LOGISTIC_FAR,
    beyond_logistic,
    logistic_parts,
    silu_forward,
    silu_partials,
)
from actfn._numerics.policy import dtype_kind, narrow_input
from actfn._numerics.roots import near_root
from actfn._numerics.series import horner
from actfn._wiring import HE, Kink, Param, elementwise

silu = elementwise(
    name="silu",
    summary="SiLU / swish: x * sigmoid(beta * x).",
    formula="x * sigmoid(beta * x)",
    derivative="s + beta x s (1 - s), s = sigmoid(beta x); df/dbeta = x^2 s (1 - s)",
    output_range=(-0.2784645427610738, math.inf),
    forward=silu_forward,
    partials=silu_partials,
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


def _gelu_forward(x, approximate):
    return gelu_tanh(x) if approximate else gelu_exact(x)


def _gelu_check(name, x, params, options, aux):
    # PyTorch's spelling: approximate="tanh" or "none".
    approximate = options["approximate"]
    spelled = {"tanh": True, "none": False}
    if isinstance(approximate, str) and approximate in spelled:
        approximate = spelled[approximate]
    if not isinstance(approximate, (bool, np.bool_)):
        raise ValueError(
            f'`actfn.gelu` `approximate` must be True, False, "tanh" or "none", got '
            f"{approximate!r}. Pass True for the tanh form."
        )
    return {**options, "approximate": bool(approximate)}, aux


def _gelu_reference(x, approximate=False):
    if approximate:
        return 0.5 * x * (1.0 + jnp.tanh(TANH_GELU_C * (x + TANH_GELU_K * x**3)))
    return 0.5 * x * (1.0 + jax.scipy.special.erf(x / SQRT_2))


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
    check=_gelu_check,
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
    args="    approximate: False for the exact erf form, True for the tanh approximation\n"
    '        (PyTorch\'s "none" and "tanh" are accepted).\n',
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
    top = LOGISTIC_FAR[dtype_kind(x)][1]
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


# quick_gelu's constant as hi + lo: z = 1.702 x is carried with its rounding (beta x rounded
# once would cost |z| / 2 ulp in the left tail, 44 at z = -88, where exp meets it).
_QUICK_C = Decimal("1.702")


def _quick_gelu_z(x):
    """z = 1.702 x as z + z_lo (Dekker), z_lo 0 where |x| > 2^100 (z's error is then far below
    anything that reaches f)."""
    hi, lo, halves = split_constant(_QUICK_C, dtype_kind(x))
    z, error = two_product(hi, x, halves)
    return z, jnp.where(jnp.abs(x) < 2.0**100, error + lo * x, 0.0)


def _quick_gelu_forward(x):
    # x sigmoid(z + z_lo) = x sigmoid(z) (1 + sigmoid(-z) z_lo) to first order (z_lo is below
    # half an ulp of z); x sigmoid(z) is silu's, rounded once (see logistic_parts).
    z, z_lo = _quick_gelu_z(x)
    d, t, c, _ = logistic_parts(z)
    y = jnp.where(beyond_logistic(z), 0.0, (x / d) * c)
    return jnp.where(z_lo == 0.0, y, y + y * (t * z_lo))


def _quick_gelu_partials(x):
    # Keeps x.  f'(x) = g(z), z = 1.702 x, with g = silu' at beta = 1 (s (1 + z t)): silu's
    # computation at the rounded z, times 1 + z_lo g'(z) / g(z) = 1 + z_lo t (2 + z (t - s)) /
    # (1 + z t); next to g's zero, silu's polynomial in z - z0 with z_lo taken in.
    z, z_lo = _quick_gelu_z(x)
    _, t, _, far = logistic_parts(z)
    g = silu_partials(z, 1.0)[0]
    s = jnp.where(far, 0.0, 1.0 - t)
    ratio = t * (2.0 + z * (t - s)) / (1.0 + z * t)
    general = jnp.where(z_lo == 0.0, g, g + g * (z_lo * ratio))
    return (near_root("silu", z, general, z_lo),)


quick_gelu = elementwise(
    name="quick_gelu",
    summary="Quick GELU: x * sigmoid(1.702 x), CLIP's approximation of gelu.",
    formula="x * sigmoid(1.702 x)",
    derivative="s (1 + 1.702 x (1 - s)), s = sigmoid(1.702 x)",
    output_range=(-0.16361018963299698, math.inf),
    forward=_quick_gelu_forward,
    partials=_quick_gelu_partials,
    reference=lambda x: x / (1.0 + jnp.exp(-1.702 * x)),
    saves="x",
    trusted=(-100.0, 300.0),
    use="hidden layers of CLIP and models trained with it (Hugging Face's `quick_gelu`)",
    initializer=HE,
    paper='Radford et al., 2021, "Learning Transferable Visual Models From Natural Language '
    'Supervision", https://arxiv.org/abs/2103.00020; Hendrycks and Gimpel, 2016, "Gaussian '
    'Error Linear Units (GELUs)", https://arxiv.org/abs/1606.08415',
    notes="silu(x, beta=1.702) is the same function with 1.702 rounded to the dtype; quick_gelu "
    "carries 1.702 x with its rounding, as the constant 1.702 is meant exactly.",
)
