"""Softplus-like units: smooth, positive rectifiers (softplus, squareplus, sparse_plus) and the
exponential.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from actfn._numerics.elementary import exp, expm1, log1p
from actfn._numerics.exact import two_product
from actfn._wiring import GLOROT, HE, NON_NEGATIVE, POSITIVE, Param, elementwise


def _softplus_partials(y, beta):
    # Keeps y: with s = sigmoid(beta x) = 1 - e, e = exp(-beta y), and beta x = beta y + log(s),
    # f' = s and df/dbeta = (s log(s) / beta - y e) / beta.  1 - s and log(s) are e and
    # log1p(-e) where s is near 1 (from the rounded s they cancel: 7 eps in df/dbeta at x = 19);
    # s log(s) is 0 as s -> 0.  (expm1 computes exp of the same argument: XLA shares it.)
    z = -beta * y
    s, e = -expm1(z), jnp.exp(z)
    log_s = jnp.where(e < 0.5, log1p(-jnp.minimum(e, 0.5)), jnp.log(jnp.where(s > 0, s, 1.0)))
    return s, (jnp.where(s > 0, s * log_s, 0.0) / beta - y * e) / beta


def _softplus_forward(x, beta):
    # max(z, 0) + log1p(exp(-|z|)), z = beta x, never overflows (our log1p: 2.8 -> 2.2 ulp in
    # float32 on a dense grid, and the forward pass is faster than with XLA's log1p).  Where
    # z itself overflows (beta > 1, x near the largest float), f is x: the log term is far
    # below x's ulp (inf / beta would be inf).
    z = beta * x
    y = (jnp.maximum(z, 0.0) + log1p(exp(-jnp.abs(z)))) / beta
    return jnp.where(jnp.isinf(z) & (x > 0.0), x, y)


softplus = elementwise(
    name="softplus",
    summary="Softplus, a smooth relu, with PyTorch's sharpness `beta`.",
    formula="log(1 + exp(beta * x)) / beta",
    derivative="sigmoid(beta * x) = 1 - exp(-beta * f(x))",
    output_range=(0.0, math.inf),
    forward=_softplus_forward,
    partials=_softplus_partials,
    reference=lambda x, beta: jnp.log1p(jnp.exp(beta * x)) / beta,
    saves="y",
    params=(Param("beta", 1.0, **POSITIVE),),
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
    params=(Param("b", 4.0, **NON_NEGATIVE),),
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
    reference=lambda x: jnp.exp(x),
    saves="y",
    trusted=(-700.0, 700.0),
    use="output layer for positive targets (Poisson rates, scales)",
    initializer=GLOROT,
    paper='Chollet et al., 2015, "Keras" (keras.activations.exponential), '
    "https://keras.io/api/layers/activations/",
)
