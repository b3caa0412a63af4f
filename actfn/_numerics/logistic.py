"""The logistic function, and x sigmoid(z) kept in range in both tails.

`logistic_parts(z)` gives the pieces of sigmoid(z) and sigmoid(-z) such that x sigmoid(z)
rounds once and stays normal where sigmoid(z) is not (silu(-90) = -7e-38, while sigmoid(-90)
is flushed to 0 on CPU).  `silu_forward` and `silu_partials` are silu's value and partials,
shared with swiglu's gate.  Guarantees: silu within 2 ulp on the accuracy grid (float32 reaches
2.2 in two narrow stretches of dense grids, where exp(-x) crosses 2^24: README's open list),
its derivatives within 4 mixed ulp (8 next to the zero of f', see `roots`).

Held by tests/test_accuracy.py (the silu, swiglu and mish rows of the value, derivative and
dense-grid tests).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from actfn._numerics.elementary import exp, times_gate
from actfn._numerics.policy import dtype_kind
from actfn._numerics.roots import near_root


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


# Beyond z = -k the logistic sigmoid(z) = 1 / (1 + exp(-z)) is computed over e^-k, to be
# multiplied in last: x sigmoid(z) is normal where sigmoid(z) is not (silu(-90) = -7e-38, and
# sigmoid(-90) = 8e-40 is flushed to 0 on CPU).  k is where e^-k rounds best (within 0.01 eps
# in float32 and 0.007 in float64); exp's argument is clipped at `top` to stay finite (beyond,
# the product is below the normal range for every x but the very largest).
LOGISTIC_FAR = {"float32": (86.0, 86.0 + 88.0), "float64": (698.0, 698.0 + 709.0)}


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
    k, top = LOGISTIC_FAR[dtype_kind(z)]
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
    return z < -LOGISTIC_FAR[dtype_kind(z)][1]


def silu_forward(x, beta):
    # x / (1 + exp(-z)), z = beta x: one rounding after the sum (see logistic_parts).  Beyond
    # the clip of exp's argument (and at z = -inf) it is 0.
    z = beta * x
    d, _, c, _ = logistic_parts(z)
    # (c is 1 but where far: one division with one user keeps XLA's loop fused.)
    return jnp.where(beyond_logistic(z), 0.0, (x / d) * c)


def silu_partials(x, beta):
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
    k, top = LOGISTIC_FAR[dtype_kind(z)]
    up = z > k
    t_up = jnp.where(up, jnp.exp(k - jnp.minimum(z, top)), jnp.where(far, c, t))
    d_beta = ((x * r) * times_gate(x, t_up)) * jnp.where(up, math.exp(-k), 1.0)
    return dx, jnp.where(gone | (z == jnp.inf), 0.0, d_beta)


def silu_value(b):
    """silu(b) = b sigmoid(b), beta = 1: swiglu's gate, the same computation as `silu`."""
    return silu_forward(b, 1.0)


def silu_derivative(b):
    """silu'(b), beta = 1: swiglu's gate derivative, the same computation as `silu`'s."""
    return silu_partials(b, 1.0)[0]
