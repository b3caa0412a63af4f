"""Rectifiers: piecewise-linear and exponential-linear units (the relu family)."""

from __future__ import annotations

import math
from decimal import Decimal

import jax
import jax.numpy as jnp

from actfn._numerics.elementary import expm1, expm1_minus_x_series, log1p, times_gate
from actfn._numerics.exact import rounded, split_constant, two_product, two_sum
from actfn._numerics.policy import dtype_kind
from actfn._wiring import GLOROT, HE, NON_NEGATIVE, POSITIVE, Kink, Param, elementwise


def min_magnitude(a, b):
    """The kink rule: of two one-sided derivatives, the one of smaller magnitude."""
    return jnp.where(jnp.abs(a) <= jnp.abs(b), a, b)


def _relu_forward(x, negative_slope, max_value, threshold):
    # A zero slope times -inf would be NaN; the limit is 0.
    below = times_gate(x - threshold, negative_slope)
    # `x > t` first and `x < t` second keeps NaN: both comparisons are false, and x - t is NaN.
    return jnp.where(
        x > threshold, jnp.minimum(x, max_value), jnp.where(x == threshold, 0.0, below)
    )


def _relu_partials(x, negative_slope, max_value, threshold):
    # Keeps x: the parameter derivatives need it (x - threshold), a mask would not do.
    above, below = x > threshold, x < threshold
    right = jnp.where(threshold < max_value, 1.0, 0.0)
    # Without a cap (max_value = inf) the slope at x = inf is 1, the limit, as in jax.nn.
    dx = jnp.where(
        above,
        jnp.where((x < max_value) | (max_value == math.inf), 1.0, 0.0),
        jnp.where(below, negative_slope, min_magnitude(negative_slope, right)),
    )
    d_slope = jnp.where(below, x - threshold, 0.0)
    d_max = jnp.where(above & (x > max_value), 1.0, 0.0)
    d_threshold = jnp.where(below, -negative_slope, 0.0)
    return dx, d_slope, d_max, d_threshold


def _relu_reference(x, negative_slope, max_value, threshold):
    return jnp.where(
        x > threshold,
        jnp.minimum(x, max_value),
        jnp.where(x < threshold, negative_slope * (x - threshold), 0.0),
    )


relu = elementwise(
    name="relu",
    summary="Rectified linear unit, with Keras' leaky slope, cap and threshold.",
    formula="min(x, max_value) for x > threshold; 0 at x = threshold; "
    "negative_slope * (x - threshold) below",
    derivative="1 for threshold < x < max_value; 0 above max_value; negative_slope below threshold",
    output_range=(0.0, math.inf),
    forward=_relu_forward,
    partials=_relu_partials,
    reference=_relu_reference,
    saves="x",
    params=(
        Param("negative_slope", 0.0),
        Param("max_value", None, none=math.inf, **NON_NEGATIVE),
        Param("threshold", 0.0),
    ),
    param_aliases={"alpha": "negative_slope"},
    kinks=(
        Kink(
            lambda p: p["threshold"],
            lambda p: (
                (p["negative_slope"] if abs(p["negative_slope"]) <= 1 else 1.0)
                if p["threshold"] < p["max_value"]
                else 0.0
            ),
            "x = threshold: f' = negative_slope if |negative_slope| <= 1 else 1 (0 by default)",
        ),
        Kink(lambda p: p["max_value"], lambda p: 0.0, "x = max_value (when given): f' = 0"),
    ),
    trusted=(-1e3, 1e3),
    use="hidden layers (the default choice of deep nets)",
    initializer=HE,
    paper='Nair and Hinton, 2010, "Rectified Linear Units Improve Restricted Boltzmann '
    'Machines", https://www.cs.toronto.edu/~hinton/absps/reluICML.pdf',
    jax_nn="relu",
    example=(("negative_slope", 0.1), ("max_value", 6.0), ("threshold", 0.5)),
    # Plain relu(x) keeps y and computes in the input's own dtype (max and select are exact in
    # any): max propagates NaN, and the backward rule selects g where y > 0 and y itself (0, or
    # NaN for a NaN input) elsewhere, the kink rule's 0 at x = 0.  A compare and a select, as
    # jax.nn's; two more ops make XLA's CPU backend split small arrays over threads, which
    # costs more than it saves.
    at_defaults={
        "forward": lambda x: jnp.maximum(x, 0.0),
        "partials": lambda y: (jnp.where(y > 0.0, 1.0, 0.0),),
        "backward": lambda y, g: (jnp.where(y > 0.0, g, y),),
        "saves": "y",
        "native": True,
    },
    notes="With threshold != 0 the function jumps from 0 to threshold at x = threshold (Keras' "
    "semantics). `alpha=` is accepted as the older Keras spelling of `negative_slope`.  "
    "Plain `relu(x)` (every parameter at its default) keeps y instead of x, in x's own dtype.",
    args="    negative_slope: slope below the threshold (Keras 2 called it `alpha`).\n"
    "    max_value: the cap, >= 0; None for no cap.\n"
    "    threshold: where the function switches on.\n",
)


def _leaky_forward(x, negative_slope):
    return jnp.where(x >= 0, x, negative_slope * x)


def _leaky_partials(x, negative_slope):
    # Keeps x: the slope's derivative is x itself on the negative side.
    dx = jnp.where(x > 0, 1.0, jnp.where(x < 0, negative_slope, min_magnitude(negative_slope, 1.0)))
    return dx, jnp.where(x < 0, x, 0.0)


def _leaky_kink(slope: str) -> Kink:
    return Kink(
        lambda p: 0.0,
        lambda p: min(p[slope], 1.0, key=abs),
        f"x = 0: f' = {slope} if |{slope}| <= 1 else 1",
    )


leaky_relu = elementwise(
    name="leaky_relu",
    summary="Leaky rectified linear unit.",
    formula="x for x >= 0; negative_slope * x below",
    derivative="1 for x > 0; negative_slope for x < 0",
    output_range=(-math.inf, math.inf),
    forward=_leaky_forward,
    partials=_leaky_partials,
    reference=lambda x, s: jnp.where(x >= 0, x, s * x),
    saves="x",
    params=(Param("negative_slope", 0.01),),
    param_aliases={"alpha": "negative_slope"},
    aliases=("leakyrelu",),
    kinks=(_leaky_kink("negative_slope"),),
    trusted=(-1e3, 1e3),
    use="hidden layers, where dead relu units are a problem (GANs)",
    initializer=HE,
    paper='Maas et al., 2013, "Rectifier Nonlinearities Improve Neural Network Acoustic '
    'Models", https://ai.stanford.edu/~amaas/papers/relu_hybrid_icml2013_final.pdf',
    jax_nn="leaky_relu",
    example=(("negative_slope", 0.2),),
    notes="The default slope is 0.01, as in jax.nn and PyTorch; Keras 3 uses 0.2 and Keras 2 "
    "used 0.3: pass `negative_slope=` for those.",
    args="    negative_slope: slope for x < 0 (a number or a learnable array).\n",
)


prelu = elementwise(
    name="prelu",
    summary="Parametric rectified linear unit: a leaky relu whose slope is learned.",
    formula="x for x >= 0; alpha * x below",
    derivative="1 for x > 0; alpha for x < 0; df/dalpha = x for x < 0, else 0",
    output_range=(-math.inf, math.inf),
    forward=_leaky_forward,
    partials=_leaky_partials,
    reference=lambda x, a: jnp.where(x >= 0, x, a * x),
    saves="x",
    params=(Param("alpha"),),
    kinks=(_leaky_kink("alpha"),),
    trusted=(-1e3, 1e3),
    use="hidden layers of convolutional nets (per-channel slope)",
    initializer=HE,
    paper='He et al., 2015, "Delving Deep into Rectifiers: Surpassing Human-Level Performance '
    'on ImageNet Classification", https://arxiv.org/abs/1502.01852',
    example=(("alpha", 0.25),),
    notes="`alpha` broadcasts to x: a scalar, one slope per channel (shape (C,) for "
    "channels-last input) or one per element; its gradient is summed to its own shape. "
    "The paper initialises alpha at 0.25.",
    args="    alpha: the learnable slope, an array broadcastable to x.\n",
)


def _rrelu_check(name, x, params, options, aux):
    lower, upper = params["lower"], params["upper"]
    if isinstance(lower, float) and isinstance(upper, float) and lower > upper:
        raise ValueError(
            f"`actfn.{name}` needs `lower <= upper`, got lower={lower} and upper={upper}. "
            "Swap them or make them equal."
        )
    return options, aux


def _rrelu_slope(x, lower, upper, key):
    """The slopes and where they lie in [lower, upper]: the mean (lower + upper) / 2 without
    a key (as PyTorch outside training), a uniform draw regenerated from the key with one."""
    if key is None:
        return 0.5 * (lower + upper), 0.5
    u = jax.random.uniform(key, x.shape, dtype=x.dtype)
    return lower + u * (upper - lower), u


def _rrelu_forward(x, lower, upper, key):
    slope, _ = _rrelu_slope(x, lower, upper, key)
    return jnp.where(x >= 0, x, slope * x)


def _rrelu_partials(x, lower, upper, key):
    # Keeps x and the key (a few bytes): the random slopes are regenerated, not stored.
    slope, u = _rrelu_slope(x, lower, upper, key)
    dx = jnp.where(x > 0, 1.0, jnp.where(x < 0, slope, min_magnitude(slope, 1.0)))
    neg = jnp.where(x < 0, x, 0.0)
    return dx, neg * (1.0 - u), neg * u


rrelu = elementwise(
    name="rrelu",
    summary="Randomised leaky relu: a random slope in [lower, upper] per element.",
    formula="x for x >= 0; a * x below, a = (lower + upper) / 2, or a ~ U(lower, upper) with a key",
    derivative="1 for x > 0; a for x < 0",
    output_range=(-math.inf, math.inf),
    forward=_rrelu_forward,
    partials=_rrelu_partials,
    reference=lambda x, lo, up, key=None: jnp.where(x >= 0, x, 0.5 * (lo + up) * x),
    saves="x",
    aux=("key",),
    check=_rrelu_check,
    params=(Param("lower", 1.0 / 8.0), Param("upper", 1.0 / 3.0)),
    kinks=(
        Kink(
            lambda p: 0.0,
            lambda p: 0.5 * (p["lower"] + p["upper"]),
            "x = 0: f' = a (the slope; |a| <= 1)",
        ),
    ),
    trusted=(-1e3, 1e3),
    use="hidden layers, as a regulariser during training (pass a fresh key each step)",
    initializer=HE,
    paper='Xu et al., 2015, "Empirical Evaluation of Rectified Activations in Convolutional '
    'Network", https://arxiv.org/abs/1505.00853',
    example=(("lower", 0.1), ("upper", 0.3)),
    notes="Without `key` the slope is the mean (lower + upper) / 2, as PyTorch's "
    "`rrelu(training=False)`; with a PRNG key each element draws its own slope, and the "
    "backward rule regenerates the draw from the key instead of storing it.",
    args="    lower: the lowest slope, <= upper.\n"
    "    upper: the highest slope.\n"
    "    key: a `jax.random` key for random slopes, or None for the mean slope.\n",
)


relu6 = elementwise(
    name="relu6",
    summary="Rectified linear unit capped at 6.",
    formula="min(max(x, 0), 6)",
    derivative="1 for 0 < x < 6, else 0",
    output_range=(0.0, 6.0),
    forward=lambda x: jnp.minimum(jnp.maximum(x, 0.0), 6.0),
    # Keeps y: 0 < y < 6 is exactly where the slope is 1 (and y = 0 or 6 at the kinks).  The
    # backward rule selects g, or min(y, 0) outside: 0 at y = 0 or 6, NaN for a NaN input (a
    # product with the 0/1 slope and a NaN select: 1.08 of jax.nn's float32 time at 2^24,
    # 1.02 now).
    partials=lambda y: (jnp.where((y > 0) & (y < 6), 1.0, 0.0),),
    backward=lambda y, g: (jnp.where((y > 0) & (y < 6), g, jnp.minimum(y, 0.0)),),
    reference=lambda x: jnp.clip(x, 0.0, 6.0),
    saves="y",
    kinks=(
        Kink(lambda p: 0.0, lambda p: 0.0, "x = 0: f' = 0"),
        Kink(lambda p: 6.0, lambda p: 0.0, "x = 6: f' = 0"),
    ),
    trusted=(-1e3, 1e3),
    use="hidden layers of mobile nets (bounded for low-precision inference)",
    initializer=HE,
    paper='Krizhevsky, 2010, "Convolutional Deep Belief Networks on CIFAR-10", '
    "https://www.cs.toronto.edu/~kriz/conv-cifar10-aug2010.pdf",
    jax_nn="relu6",
)


def _elu_partials(y, alpha):
    # Keeps y: for x <= 0, f'(x) = alpha * exp(x) = y + alpha, and df/dalpha = y / alpha.
    dx = jnp.where(y > 0, 1.0, jnp.where(y < 0, y + alpha, jnp.minimum(alpha, 1.0)))
    return dx, jnp.where(y < 0, y / alpha, 0.0)


elu = elementwise(
    name="elu",
    summary="Exponential linear unit.",
    formula="x for x > 0; alpha * (exp(x) - 1) for x <= 0",
    derivative="1 for x > 0; alpha * exp(x) = f(x) + alpha for x < 0",
    output_range=(-1.0, math.inf),
    # expm1 keeps the relative accuracy of alpha * (exp(x) - 1) near 0; min(x, 0) keeps exp from
    # overflowing on the branch that is not taken.
    forward=lambda x, alpha: jnp.where(x > 0, x, alpha * expm1(jnp.minimum(x, 0.0))),
    partials=_elu_partials,
    reference=lambda x, alpha: jnp.where(x > 0, x, alpha * (jnp.exp(x) - 1.0)),
    saves="y",
    params=(Param("alpha", 1.0, **POSITIVE),),
    kinks=(
        Kink(
            lambda p: 0.0,
            lambda p: min(p["alpha"], 1.0),
            "x = 0: f' = min(alpha, 1) (a kink only when alpha != 1)",
        ),
    ),
    trusted=(-1e3, 700.0),
    use="hidden layers (smooth negative saturation, mean activations near 0)",
    initializer=HE,
    paper='Clevert et al., 2015, "Fast and Accurate Deep Network Learning by Exponential Linear '
    'Units (ELUs)", https://arxiv.org/abs/1511.07289',
    jax_nn="elu",
    example=(("alpha", 0.5),),
    args="    alpha: the negative saturation value, > 0.\n",
)


# selu's constants to the digits the accuracy oracle uses; the library's are the nearest floats.
SELU_ALPHA_DIGITS = "1.6732632423543772848170429916717"


SELU_SCALE_DIGITS = "1.0507009873554804934193349852946"


SELU_ALPHA = float(SELU_ALPHA_DIGITS)


SELU_SCALE = float(SELU_SCALE_DIGITS)


# scale * alpha as hi + lo in each dtype: e hi + e lo rounds once where scale * (alpha * e)
# rounds twice (and the product of the rounded constants is off by half an ulp besides):
# float64 2.6 -> 1.7 ulp on a dense grid.
_SELU_PRODUCT = {
    dtype: split_constant(Decimal(SELU_ALPHA_DIGITS) * Decimal(SELU_SCALE_DIGITS), dtype)[:2]
    for dtype in ("float32", "float64")
}


def _selu_forward(x):
    # The scale inside each branch (not outside the where) lets XLA keep only y for the
    # backward pass: 4 MiB instead of 32 MiB in the README's MLP training step.
    hi, lo = _SELU_PRODUCT[dtype_kind(x)]
    e = expm1(jnp.minimum(x, 0.0))
    return jnp.where(x > 0, SELU_SCALE * x, e * hi + e * lo)


def _selu_partials(y):
    # Keeps y: f'(x) = y + scale * alpha below 0, the constant as hi + lo as in the forward
    # pass (y + hi is exact where it cancels).  lo is added through a select: XLA folds the
    # constants of (y + hi) + lo into one, which is hi.  Where y has reached its limit -hi,
    # f' is 0 (e^x scale alpha is below y's rounding there), as jax.nn's at x = -1000.
    hi, lo = _SELU_PRODUCT[dtype_kind(y)]
    rest = y + hi
    negative = (y < 0) & (rest != 0)
    return (
        jnp.where(
            y > 0, SELU_SCALE, jnp.where(y < 0, rest, SELU_SCALE) + jnp.where(negative, lo, 0.0)
        ),
    )


selu = elementwise(
    name="selu",
    summary="Scaled exponential linear unit (self-normalising).",
    formula="scale * x for x > 0; scale * alpha * (exp(x) - 1) for x <= 0, "
    f"alpha = {SELU_ALPHA!r}, scale = {SELU_SCALE!r}",
    derivative="scale for x > 0; scale * alpha * exp(x) = f(x) + scale * alpha for x < 0",
    output_range=(-SELU_SCALE * SELU_ALPHA, math.inf),
    forward=_selu_forward,
    partials=_selu_partials,
    reference=lambda x: SELU_SCALE * jnp.where(x > 0, x, SELU_ALPHA * (jnp.exp(x) - 1.0)),
    saves="y",
    kinks=(Kink(lambda p: 0.0, lambda p: SELU_SCALE, "x = 0: f' = scale (right side)"),),
    trusted=(-1e3, 700.0),
    use="hidden layers of self-normalising plain MLPs (with lecun_normal and alpha dropout)",
    initializer="lecun_normal",
    paper='Klambauer et al., 2017, "Self-Normalizing Neural Networks", '
    "https://arxiv.org/abs/1706.02515",
    jax_nn="selu",
)


# -(n - 1) / n! for n = 2..21: the Taylor coefficients of exp(L) (1 - L) - 1.
_CELU_SERIES = tuple(-(n - 1) / math.factorial(n) for n in range(2, 22))


def _celu_alpha_slope(ell, direct):
    """df/dalpha = exp(L) (1 - L) - 1 at L = x / alpha: `direct`, its closed form, but where it
    cancels to -L^2 / 2 (|L| < 1), the series."""
    small = jnp.abs(ell) < 1.0
    ls = jnp.where(small, ell, 0.0)
    series = jnp.zeros_like(ls)
    for c in reversed(_CELU_SERIES):
        series = series * ls + c
    return jnp.where(small, series * ls * ls, direct)


def _celu_partials(y, alpha):
    # Keeps y: with u = y / alpha, exp(x / alpha) = 1 + u and L = x / alpha = log(1 + u), so
    # f' = 1 + u and df/dalpha = u - (1 + u) L = exp(L) (1 - L) - 1.  That difference cancels
    # to -L^2 / 2 near 0, so there it is summed as a series; xlogy gives 0 (not NaN) as u -> -1.
    u = y / alpha
    dx = jnp.where(y > 0, 1.0, 1.0 + u)
    # Our log1p, not XLA's (float64: 120 ulp off near u = -0.41, 11.6 eps in df/dalpha); below
    # u = -1/2, 1 + u is exact and log takes it.
    log1p_u = jnp.where(u < -0.5, jnp.log(1.0 + u), log1p(jnp.clip(u, -0.5, 1.0)))
    d_alpha = _celu_alpha_slope(log1p_u, u - jax.scipy.special.xlogy(1.0 + u, 1.0 + u))
    return dx, jnp.where(y < 0, d_alpha, 0.0)


def _celu_partials_from_x(x, alpha):
    # While alpha is being differentiated the backward rule keeps x (see `_celu_partials`):
    # with L = x / alpha, df/dalpha = exp(L) (1 - L) - 1.  L stops at -1e4, where exp(L) is 0
    # and the limit -1 comes out (not 0 * inf).
    ell = jnp.maximum(x / alpha, -1e4)
    e = jnp.exp(jnp.minimum(ell, 0.0))
    d_alpha = _celu_alpha_slope(ell, e * (1.0 - ell) - 1.0)
    return jnp.where(x > 0, 1.0, e), jnp.where(x < 0, d_alpha, 0.0)


celu = elementwise(
    name="celu",
    summary="Continuously differentiable exponential linear unit.",
    formula="x for x > 0; alpha * (exp(x / alpha) - 1) for x <= 0",
    derivative="1 for x > 0; exp(x / alpha) for x <= 0",
    output_range=(-1.0, math.inf),
    forward=lambda x, alpha: jnp.where(x > 0, x, alpha * expm1(jnp.minimum(x, 0.0) / alpha)),
    partials=_celu_partials,
    partials_from_x=_celu_partials_from_x,
    reference=lambda x, alpha: jnp.where(x > 0, x, alpha * (jnp.exp(x / alpha) - 1.0)),
    saves="y",
    notes="While `alpha` is being differentiated (a learnable alpha), the backward rule keeps "
    "x instead: df/dalpha from y would lose up to |x| eps / 4.",
    params=(Param("alpha", 1.0, **POSITIVE),),
    trusted=(-1e3, 300.0),
    use="hidden layers (elu whose derivative is continuous for every alpha)",
    initializer=HE,
    paper='Barron, 2017, "Continuously Differentiable Exponential Linear Units", '
    "https://arxiv.org/abs/1704.07483",
    jax_nn="celu",
    example=(("alpha", 0.5),),
    args="    alpha: the negative saturation value, > 0.\n",
)


threshold = elementwise(
    name="threshold",
    summary="Thresholding: keep x above a threshold, replace it by a value elsewhere.",
    formula="x for x > threshold; value otherwise",
    derivative="1 for x > threshold, 0 below; df/dvalue = 1 for x < threshold",
    output_range=(-math.inf, math.inf),
    # `x <= t` rather than `x > t` first, so that NaN goes to x and stays NaN.
    forward=lambda x, t, value: jnp.where(x <= t, value, x),
    # Keeps x: y cannot tell x = value (above the threshold) from the replaced entries.
    # The jump's location has derivative 0 everywhere else, so df/dthreshold = 0.
    partials=lambda x, t, value: (
        jnp.where(x > t, 1.0, 0.0),
        jnp.zeros_like(x),
        jnp.where(x < t, 1.0, 0.0),
    ),
    reference=lambda x, t, value: jnp.where(x > t, x, value),
    saves="x",
    params=(Param("threshold"), Param("value")),
    param_aliases={"default_value": "value"},
    kinks=(
        Kink(
            lambda p: p["threshold"],
            lambda p: 0.0,
            "x = threshold (a jump unless value = threshold): f' = 0",
        ),
    ),
    trusted=(-1e3, 1e3),
    use="hidden layers in older nets; masking small activations",
    initializer=HE,
    paper='Paszke et al., 2019, "PyTorch: An Imperative Style, High-Performance Deep '
    'Learning Library" (torch.nn.Threshold), https://arxiv.org/abs/1912.01703',
    example=(("threshold", 0.5), ("value", -1.0)),
    notes="Keras 3 calls `value` `default_value`; both are accepted.",
    args="    threshold: where the function switches.\n    value: what replaces x at and "
    "below the threshold.\n",
)


hard_shrink = elementwise(
    name="hard_shrink",
    summary="Hard shrinkage: zero out entries of magnitude at most lambd.",
    formula="x for |x| > lambd; 0 otherwise",
    derivative="1 for |x| > lambd; 0 otherwise (df/dlambd = 0 away from the jumps)",
    output_range=(-math.inf, math.inf),
    forward=lambda x, lambd: jnp.where(jnp.abs(x) <= lambd, 0.0, x),
    # Keeps y: y != 0 exactly where |x| > lambd (with lambd >= 0).
    partials=lambda y, lambd: (jnp.where(y != 0, 1.0, 0.0), jnp.zeros_like(y)),
    reference=lambda x, lambd: jnp.where(jnp.abs(x) > lambd, x, 0.0),
    saves="y",
    params=(Param("lambd", 0.5, **NON_NEGATIVE),),
    param_aliases={"threshold": "lambd"},
    aliases=("hardshrink",),
    kinks=(
        Kink(lambda p: -p["lambd"], lambda p: 0.0, "x = -lambd (a jump): f' = 0"),
        Kink(lambda p: p["lambd"], lambda p: 0.0, "x = lambd (a jump): f' = 0"),
    ),
    trusted=(-1e3, 1e3),
    use="sparse coding and denoising layers",
    initializer=HE,
    paper='Donoho and Johnstone, 1994, "Ideal spatial adaptation by wavelet shrinkage", '
    "https://doi.org/10.1093/biomet/81.3.425",
    example=(("lambd", 0.25),),
    notes="Keras 3 calls `lambd` `threshold`; both are accepted.",
    args="    lambd: the threshold, >= 0 (Keras: `threshold`).\n",
)


soft_shrink = elementwise(
    name="soft_shrink",
    summary="Soft shrinkage (soft thresholding) towards zero by lambd.",
    formula="x - lambd for x > lambd; x + lambd for x < -lambd; 0 otherwise",
    derivative="1 for |x| > lambd, else 0; df/dlambd = -sign(x) for |x| > lambd",
    output_range=(-math.inf, math.inf),
    # x - clip(x) is exact on both sides and keeps NaN.
    forward=lambda x, lambd: x - jnp.clip(x, -lambd, lambd),
    # Keeps y: y's sign tells the branch, and y = 0 exactly in the dead zone and at the kinks.
    partials=lambda y, lambd: (jnp.where(y != 0, 1.0, 0.0), -jnp.sign(y)),
    reference=lambda x, lambd: jnp.where(
        x > lambd, x - lambd, jnp.where(x < -lambd, x + lambd, 0.0)
    ),
    saves="y",
    params=(Param("lambd", 0.5, **NON_NEGATIVE),),
    param_aliases={"threshold": "lambd"},
    aliases=("softshrink",),
    kinks=(
        Kink(lambda p: -p["lambd"], lambda p: 0.0, "x = -lambd: f' = 0"),
        Kink(lambda p: p["lambd"], lambda p: 0.0, "x = lambd: f' = 0"),
    ),
    trusted=(-1e3, 1e3),
    use="sparse coding (ISTA), denoising, L1 proximal steps",
    initializer=HE,
    paper='Donoho, 1995, "De-noising by soft-thresholding", https://doi.org/10.1109/18.382009',
    example=(("lambd", 0.25),),
    notes="Keras 3 calls `lambd` `threshold`; both are accepted.",
    args="    lambd: the threshold, >= 0 (Keras: `threshold`).\n",
)


def _hard_tanh_check(name, x, params, options, aux):
    lo, hi = params["min_val"], params["max_val"]
    if isinstance(lo, float) and isinstance(hi, float) and lo > hi:
        raise ValueError(
            f"`actfn.{name}` needs `min_val <= max_val`, got min_val={lo} and max_val={hi}. "
            "Swap them."
        )
    return options, aux


hard_tanh = elementwise(
    name="hard_tanh",
    summary="Hard tanh: x clipped to [min_val, max_val].",
    formula="min(max(x, min_val), max_val)",
    derivative="1 for min_val < x < max_val, else 0; df/dmin_val = 1 below, df/dmax_val = 1 above",
    output_range=(-1.0, 1.0),
    forward=lambda x, lo, hi: jnp.minimum(jnp.maximum(x, lo), hi),
    # Keeps x: y = min_val cannot tell the kink (derivative 0) from the clipped side.
    partials=lambda x, lo, hi: (
        jnp.where((x > lo) & (x < hi), 1.0, 0.0),
        jnp.where(x < lo, 1.0, 0.0),
        jnp.where(x > hi, 1.0, 0.0),
    ),
    reference=lambda x, lo, hi: jnp.clip(x, lo, hi),
    saves="x",
    check=_hard_tanh_check,
    params=(Param("min_val", -1.0), Param("max_val", 1.0)),
    aliases=("hardtanh",),
    kinks=(
        Kink(lambda p: p["min_val"], lambda p: 0.0, "x = min_val: f' = 0"),
        Kink(lambda p: p["max_val"], lambda p: 0.0, "x = max_val: f' = 0"),
    ),
    trusted=(-1e3, 1e3),
    use="hidden layers of quantised or low-power nets; a cheap tanh",
    initializer="glorot_uniform",
    paper='Collobert, 2004, "Large Scale Machine Learning" (PhD thesis), '
    "https://ronan.collobert.com/pub/matos/2004_phdthesis_lip6.pdf",
    jax_nn="hard_tanh",
    example=(("min_val", -2.0), ("max_val", 0.5)),
    notes="The output range above is for the default parameters: [min_val, max_val].",
    args="    min_val: the lower clip, <= max_val.\n    max_val: the upper clip.\n",
)


def _squared_relu_forward(x):
    r = jnp.maximum(x, 0.0)  # (max keeps NaN)
    return r * r


squared_relu = elementwise(
    name="squared_relu",
    summary="Squared relu: relu(x)^2.",
    formula="max(x, 0)^2",
    derivative="2 max(x, 0)",
    output_range=(0.0, math.inf),
    forward=_squared_relu_forward,
    # Keeps x: f' = 2 relu(x) is exact from x (from y it would take a rounded square root).
    partials=lambda x: (2.0 * jnp.maximum(x, 0.0),),
    reference=lambda x: jnp.where(x > 0, x * x, 0.0),
    saves="x",
    aliases=("relu2", "relu_squared"),
    trusted=(-1e3, 1e3),
    use="feed-forward blocks of transformers (Primer, Nemotron)",
    initializer=HE,
    paper='So et al., 2021, "Primer: Searching for Efficient Transformers for Language '
    'Modeling", https://arxiv.org/abs/2109.08668',
    notes="Differentiable everywhere: both one-sided derivatives at 0 are 0.",
)


def _star_relu_forward(x, s, b):
    # Next to f's zero, where s relu(x)^2 = -b (x = 0.707 by default), the plain sum cancels
    # (2.7 ulp on the accuracy grid, unbounded next to the zero): s x^2 + b in twice the
    # precision instead, x^2 and s x^2 exact as products and errors, rounded once.  Beyond
    # |x| = 2^40 (where x^2's halves could leave the range) the zero cannot be, plain there.
    r = jnp.maximum(x, 0.0)  # (max keeps NaN)
    inside = r < 2.0**40
    rs = jnp.where(inside, r, 0.0)
    square, square_lo = two_product(rs, rs)
    scaled, scaled_lo = two_product(s + jnp.zeros_like(rs), square)
    total, total_lo = two_sum(rounded(scaled), b + jnp.zeros_like(rs))
    compensated = total + (total_lo + (scaled_lo + s * square_lo))
    return jnp.where(inside, compensated, s * (r * r) + b)


def _star_relu_partials(x, s, b):
    # Keeps x: df/ds = relu(x)^2 needs it.
    r = jnp.maximum(x, 0.0)
    return 2.0 * s * r, r * r, jnp.ones_like(x)


star_relu = elementwise(
    name="star_relu",
    summary="StarReLU: a scaled and shifted squared relu, s relu(x)^2 + b, with learnable s and b.",
    formula="s * max(x, 0)^2 + b",
    derivative="2 s max(x, 0); df/ds = max(x, 0)^2; df/db = 1",
    output_range=(-0.4472135954999579, math.inf),
    forward=_star_relu_forward,
    partials=_star_relu_partials,
    reference=lambda x, s, b: s * jnp.where(x > 0, x * x, 0.0) + b,
    saves="x",
    # MetaFormer's initial values: s = 1 / sqrt(1.25) and b = -0.5 / sqrt(1.25) give relu(x)^2
    # of a standard normal x zero mean and unit variance.
    params=(Param("s", 0.8944271909999159), Param("b", -0.4472135954999579)),
    trusted=(-1e3, 1e3),
    use="token mixers and feed-forward blocks of MetaFormer models (learnable s and b)",
    initializer=HE,
    paper='Yu et al., 2022, "MetaFormer Baselines for Vision", https://arxiv.org/abs/2210.13452',
    example=(("s", 1.5), ("b", 0.25)),
    notes="The output range is for the default s and b.",
    args="    s: the scale (a number or a learnable array).\n"
    "    b: the shift (a number or a learnable array).\n",
)


# xIELU's constants (Huang et al., 2025): beta's default and the epsilon that caps exp's argument
# on the negative side (its derivative there is then constant up to 0).
XIELU_EPS = -1e-6


def _softplus(r):
    # Stable softplus of a (raw, unconstrained) parameter.
    return jnp.maximum(r, 0.0) + log1p(jnp.exp(-jnp.abs(r)))


def _expm1_minus_x(m):
    # exp(m) - 1 - m without cancelling next to 0: expm1's own series part below |m| = log 2,
    # the plain difference beyond.
    small = jnp.abs(m) < math.log(2.0)
    return jnp.where(small, expm1_minus_x_series(jnp.where(small, m, 0.0)), expm1(m) - m)


def _xielu_forward(x, alpha_p, alpha_n, beta):
    ap, an = _softplus(alpha_p), beta + _softplus(alpha_n)
    m = jnp.minimum(x, XIELU_EPS)
    # expm1(m) - x = (expm1(m) - m) + (m - x), the second exact (0 below eps).
    # (m - x is 0 below eps, and kept out of -inf - -inf at x = -inf.)
    negative = an * (_expm1_minus_x(m) + jnp.where(x < XIELU_EPS, 0.0, m - x)) + beta * x
    positive = jnp.where(jnp.isinf(x), x, ap * x * x + beta * x)  # inf, not inf - inf
    # At x = -inf, f = -an + (beta - an) x in the limit (inf - inf as written).
    negative = jnp.where(x == -jnp.inf, jnp.where(beta == an, -an, (beta - an) * x), negative)
    return jnp.where(x > 0, positive, negative)


def _xielu_partials(x, alpha_p, alpha_n, beta):
    # Keeps x.  With ap = softplus(alpha_p) and an = beta + softplus(alpha_n): for x > 0,
    # f' = 2 ap x + beta; for x <= 0, f' = an (exp(min(x, eps)) [x < eps] - 1) + beta.  At the
    # kinks (0 and eps) the one-sided derivative of smaller magnitude.
    ap, an = _softplus(alpha_p), beta + _softplus(alpha_n)
    m = jnp.minimum(x, XIELU_EPS)
    em1 = expm1(m)
    left_of_eps = an * em1 + beta
    flat = beta - an  # between eps and 0
    dx = jnp.where(
        x > 0,
        2.0 * ap * x + beta,
        jnp.where(
            x < XIELU_EPS,
            left_of_eps,
            jnp.where(
                x == 0,
                min_magnitude(flat, beta),
                jnp.where(x == XIELU_EPS, min_magnitude(left_of_eps, flat), flat),
            ),
        ),
    )
    g = _expm1_minus_x(m) + jnp.where(x < XIELU_EPS, 0.0, m - x)
    positive = x > 0
    d_alpha_p = jnp.where(positive, x * x, 0.0) * jax.nn.sigmoid(alpha_p)
    d_alpha_n = jnp.where(positive, 0.0, g) * jax.nn.sigmoid(alpha_n)
    # df/dbeta = x + g = expm1(min(x, eps)) for x <= 0 (finite at x = -inf).
    d_beta = jnp.where(positive, x, em1)
    return dx, d_alpha_p, d_alpha_n, d_beta


def _xielu_side_slopes(p):
    ap = math.log1p(math.exp(p["alpha_p"]))
    an = p["beta"] + math.log1p(math.exp(p["alpha_n"]))
    left = an * math.expm1(XIELU_EPS) + p["beta"]
    return ap, an, left, p["beta"] - an


def _smaller(a: float, b: float) -> float:
    return a if abs(a) <= abs(b) else b


xielu = elementwise(
    name="xielu",
    summary="xIELU: a quadratic positive side and an integrated-ELU negative side, with "
    "learnable curvatures kept positive by softplus.",
    formula="ap x^2 + beta x for x > 0; an (expm1(min(x, eps)) - x) + beta x for x <= 0, "
    "ap = softplus(alpha_p), an = beta + softplus(alpha_n), eps = -1e-6",
    derivative="2 ap x + beta for x > 0; an (exp(min(x, eps)) [x < eps] - 1) + beta for x <= 0",
    output_range=(-0.2057512240963984, math.inf),
    forward=_xielu_forward,
    partials=_xielu_partials,
    reference=lambda x, alpha_p, alpha_n, beta: jnp.where(
        x > 0,
        jnp.log1p(jnp.exp(alpha_p)) * x * x + beta * x,
        (beta + jnp.log1p(jnp.exp(alpha_n))) * (jnp.expm1(jnp.minimum(x, XIELU_EPS)) - x)
        + beta * x,
    ),
    saves="x",
    # The paper's initial values: ap = an = 0.8 through the softplus, beta = 0.5.
    params=(
        Param("alpha_p", math.log(math.expm1(0.8))),
        Param("alpha_n", math.log(math.expm1(0.8 - 0.5))),
        Param("beta", 0.5),
    ),
    kinks=(
        Kink(
            lambda p: 0.0,
            lambda p: _smaller(_xielu_side_slopes(p)[3], p["beta"]),
            "x = 0: f' = beta - an or beta, the smaller in magnitude (beta - an = -0.3 by default)",
        ),
        Kink(
            lambda p: XIELU_EPS,
            lambda p: _smaller(_xielu_side_slopes(p)[2], _xielu_side_slopes(p)[3]),
            "x = eps = -1e-6: f' = an (exp(eps) - 1) + beta or beta - an, the smaller in "
            "magnitude (beta - an by default)",
        ),
    ),
    trusted=(-1e3, 1e3),
    use="feed-forward blocks of language models (Apertus); keep alpha_p and alpha_n out of "
    "weight decay",
    initializer=HE,
    paper='Huang and Schlag, 2025, "Deriving Activation Functions Using Integration", '
    "https://arxiv.org/abs/2411.13010",
    example=(("alpha_p", 0.3), ("alpha_n", -0.5), ("beta", 0.25)),
    notes="alpha_p and alpha_n are the raw parameters: the curvatures are softplus(alpha_p) and "
    "beta + softplus(alpha_n), positive whatever the optimiser does (the defaults give 0.8 "
    "and 0.8).  eps = -1e-6 is the paper's.  The output range is for the defaults.",
    args="    alpha_p: the raw positive-side curvature, softplus(alpha_p) (learnable).\n"
    "    alpha_n: the raw negative-side curvature, beta + softplus(alpha_n) (learnable).\n"
    "    beta: the slope at 0.\n",
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
