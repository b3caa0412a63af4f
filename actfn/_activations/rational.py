"""Rational units: the Padé activation unit P(x) / Q(x) with learnable coefficients."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from actfn._numerics.elementary import times_gate
from actfn._numerics.exact import rounded, two_product, two_sum
from actfn._numerics.policy import dtype_kind
from actfn._numerics.series import compensated_horner, compensated_horner_parts, horner
from actfn._wiring import HE, Kink, Param, elementwise

NUMERATOR = tuple(f"a{k}" for k in range(6))
DENOMINATOR = tuple(f"b{k}" for k in range(1, 5))

# Initial coefficients (a0 .. a5, b1 .. b4) whose P / Q approximates an activation on [-3, 3]
# (least squares of P - f S = f on 20,001 points, with b1 = b3 = 0 so that S = b2 x^2 + b4 x^4 is
# even; tanh's even numerator terms are 0).  The maximum errors on [-3, 3]: leaky_relu 0.064
# (its kink cannot be fitted), gelu 7.9e-4, tanh 2.7e-6, swish 9.0e-7; tests/test_new_units.py
# refits them.
RATIONAL_INITS = {
    "leaky_relu": (0.0636460263986725, 0.5049999999999961, 0.9899505866122664, 0.8079193191569933,
                   0.2749588042996198, 0.03526279588151884, 0.0, 1.5998402359544392, 0.0,
                   0.06982731857726522),
    "gelu": (-0.0005301487512849378, 0.5000000000000002, 0.40318954332086676, 0.07563148727802303,
             -0.011758742603644425, -0.0035411591874105453, 0.0, 0.15126297455604618, 0.0,
             -0.007082318374821311),
    "tanh": (0.0, 0.9999864354513158, 0.0, 0.10727487374113547, 0.0, 0.0008531287454981248, 0.0,
             0.4405574583719917, 0.0, 0.014432070835757331),
    "swish": (4.704384357694687e-07, 0.5000000000000007, 0.24999664217947729, 0.05325089654874013,
              0.00579599002849491, 0.00027427034724220896, 0.0, 0.10650179309748048, 0.0,
              0.000548540694484095),
}  # fmt: skip


def rational_init(name: str) -> dict[str, float]:
    """Initial coefficients of `actfn.rational` that approximate an activation on [-3, 3].

    Args:
        name: "leaky_relu" (the default of `rational`), "gelu", "tanh" or "swish".

    Returns:
        A dict `{"a0": ..., ..., "b4": ...}` to pass as `rational(x, **coefficients)` or as
        the initial values of learnable parameters.
    """
    if name not in RATIONAL_INITS:
        raise ValueError(
            f"`actfn.rational_init` has no initialisation for `{name}`. Choose one of "
            f"{', '.join(f'`{n}`' for n in RATIONAL_INITS)}."
        )
    return dict(zip(NUMERATOR + DENOMINATOR, RATIONAL_INITS[name]))


# Beyond |x| = FAR, x^8 (in Q^2) would leave the dtype's range: there P and Q are taken over
# x^4, in t = 1 / x (where a5 x dominates P and nothing cancels).
_FAR = {"float32": 2.0**12, "float64": 2.0**100}
# The derivative takes the far form from |x| = 2: in P' Q - P sign(S) S' the leading terms
# cancel as |x| grows (5 a5 b4 x^8 - 4 a5 b4 x^8: 6.7 eps of the largest f' at x = 87 for the
# default coefficients, 2.4 with the far form from 2), in t = 1 / x they are not there to cancel.
_DERIVATIVE_FAR = 2.0


def _near_and_far(x, top=None):
    far = jnp.abs(x) > (_FAR[dtype_kind(x)] if top is None else top)
    return far, jnp.where(far, 1.0, x), jnp.where(far, 1.0 / x, 0.0)


def _parts(x, coefficients):
    a, b = coefficients[:6], coefficients[6:]
    # P in twice the precision: next to its zeros (where f crosses 0, at x = -3.3 for the gelu
    # initialisation) plain Horner's rule cancels, and df/db_k = -P sign(S) x^k / Q^2 with it.
    p = compensated_horner(a, x)
    s = x * horner(b, x)  # S = b1 x + b2 x^2 + b3 x^3 + b4 x^4
    return p, s


def _far_parts(x, t, coefficients):
    """N = P / x^4 = a5 x + A(t) and B = S / x^4, D = Q / x^4 = t^4 + |B|, t = 1 / x."""
    a, b = coefficients[:6], coefficients[6:]
    big_a = horner((a[4], a[3], a[2], a[1], a[0]), t)
    big_b = horner((b[3], b[2], b[1], b[0]), t)
    t4 = jnp.square(jnp.square(t))
    return times_gate(x, a[5]) + big_a, big_a, big_b, t4 + jnp.abs(big_b)


def _quotient(p, p_lo, q, q_lo):
    """(p + p_lo) / (q + q_lo) rounded once but for a fraction of an ulp: r = p / q corrected
    by its remainder p - r q (exact as a difference and a product's error)."""
    r = p / q
    m, m_lo = two_product(r, q)
    corrected = r + (((p - m) - m_lo) + (p_lo - r * q_lo)) / q
    return jnp.where(jnp.isfinite(r), corrected, r)  # an infinite P: its quotient as it is


def _near_value(x, coefficients):
    """P / Q with P and S each as hi + lo (compensated Horner) and Q = 1 + |S| as a sum and
    its error: within an ulp where the plain quotient of the rounded P and Q is 2.5 off."""
    a, b = coefficients[:6], coefficients[6:]
    p, p_lo = compensated_horner_parts(a, x)
    s, s_lo = compensated_horner_parts((0.0, *b), x)
    q, q_lo = two_sum(1.0, jnp.abs(s))
    return _quotient(p, p_lo, q, q_lo + jnp.sign(s) * s_lo)


def _far_value(x, t, coefficients):
    """N / D over x^4 (see `_far_parts`) with N = a5 x + A(t) and B each as hi + lo."""
    a, b = coefficients[:6], coefficients[6:]
    big_a = horner((a[4], a[3], a[2], a[1], a[0]), t)
    big_b, big_b_lo = compensated_horner_parts((b[3], b[2], b[1], b[0]), t)
    finite = jnp.where(jnp.isinf(x), 0.0, x)
    _, product_lo = two_product(a[5] + jnp.zeros_like(x), finite)
    n, n_lo = two_sum(rounded(times_gate(x, a[5])), big_a)
    d, d_lo = two_sum(jnp.square(jnp.square(t)), jnp.abs(big_b))
    return _quotient(n, n_lo + product_lo, d, d_lo + jnp.sign(big_b) * big_b_lo)


def _rational_forward(x, *coefficients):
    far, xn, t = _near_and_far(x)
    return jnp.where(far, _far_value(x, t, coefficients), _near_value(xn, coefficients))


def _far_slope(x, t, coefficients):
    """f' from the parts over x^4 (see `_far_parts`): N' = a5 - t^2 A'(t) and D' = -t^2 (4 t^3
    + sign(B) B'(t)), N D' written with N t = a5 + t A(t), finite at x = +-inf."""
    a, b = coefficients[:6], coefficients[6:]
    _, big_a, big_b, d = _far_parts(x, t, coefficients)
    t2 = t * t
    dn = a[5] - t2 * horner((a[3], 2.0 * a[2], 3.0 * a[1], 4.0 * a[0]), t)
    dd_over_t = -t * (4.0 * t2 * t + jnp.sign(big_b) * horner((b[2], 2.0 * b[1], 3.0 * b[0]), t))
    rd = 1.0 / d
    return (dn - (a[5] + t * big_a) * dd_over_t * rd) * rd


def _rational_partials(x, *coefficients):
    # Keeps x only (the coefficients' derivatives are powers of x over Q).  f' = (P' Q -
    # P sign(S) S') / Q^2; where S = 0 (at 0, and at S's other real zeros) |S| has a kink, and the
    # one-sided derivatives P' -+ P S' (Q = 1 there) are chosen by the kink rule.
    a, b = coefficients[:6], coefficients[6:]
    far, xn, t = _near_and_far(x)
    p, s = _parts(xn, coefficients)
    dp = horner(tuple(k * a[k] for k in range(1, 6)), xn)
    ds = horner(tuple((k + 1) * b[k] for k in range(4)), xn)
    q = 1.0 + jnp.abs(s)
    sign = jnp.sign(s)
    r = 1.0 / q
    general = (dp - p * sign * ds * r) * r
    lo, hi = dp - p * ds, dp + p * ds
    dx = jnp.where(s == 0, jnp.where(jnp.abs(lo) <= jnp.abs(hi), lo, hi), general)
    slope_far, _, slope_t = _near_and_far(x, _DERIVATIVE_FAR)
    dx = jnp.where(slope_far, _far_slope(x, slope_t, coefficients), dx)
    powers = [jnp.ones_like(xn)]
    for _ in range(5):
        powers.append(powers[-1] * xn)  # x^0 .. x^5
    # The coefficients' derivatives are products (nothing cancels but in P, compensated): the
    # far form only where x^8 would overflow.
    d_a = [power * r for power in powers]
    d_b = [-(p * sign) * powers[k] * (r * r) for k in range(1, 5)]
    n, big_a, big_b, d = _far_parts(x, t, coefficients)
    sign_b = jnp.sign(big_b)
    rd = 1.0 / d
    # t^j / D and N t^j / D^2 by successive products, each no smaller than the result (t^4
    # alone would flush where t^4 / D does not).
    over_d = [rd]
    for _ in range(4):
        over_d.append(over_d[-1] * t)  # t^0 / D .. t^4 / D
    far_a = [over_d[4 - k] for k in range(5)] + [x * rd]
    nt_over_d2 = [-sign_b * ((a[5] + t * big_a) * rd) * rd]  # N t / D^2 (N t is finite)
    for _ in range(2):
        nt_over_d2.append(nt_over_d2[-1] * t)  # N t^1 .. t^3 / D^2
    far_b = [nt_over_d2[3 - k] for k in range(1, 4)] + [-(n * sign_b) * rd * rd]
    d_a = [jnp.where(far, fa, na) for fa, na in zip(far_a, d_a)]
    d_b = [jnp.where(far, fb, nb) for fb, nb in zip(far_b, d_b)]
    return (dx, *d_a, *d_b)


def _s_roots(p: dict) -> list[float]:
    """The real zeros of S(x) / x = b1 + b2 x + b3 x^2 + b4 x^3 (kinks of |S| besides 0)."""
    cubic = [p["b4"], p["b3"], p["b2"], p["b1"]]
    while cubic and cubic[0] == 0.0:
        cubic = cubic[1:]
    if len(cubic) < 2:
        return []
    roots = np.roots(cubic)
    return sorted(float(r.real) for r in roots if abs(r.imag) <= 1e-12 * max(1.0, abs(r)))


def _root_kink(i: int) -> Kink:
    def at(p):
        roots = [r for r in _s_roots(p) if r != 0.0]
        return roots[i] if i < len(roots) else math.nan  # (not a number: no such kink)

    return Kink(
        at,
        lambda p: None,
        f"x = r{i + 1}, real zero {i + 1} of b1 + b2 x + b3 x^2 + b4 x^3 (if any): f' = P' -+ "
        "P S', the smaller in magnitude (where S rounds to 0)",
    )


def _zero_slope(p: dict) -> float:
    lo, hi = p["a1"] - p["a0"] * p["b1"], p["a1"] + p["a0"] * p["b1"]
    return lo if abs(lo) <= abs(hi) else hi


def _reference(x, a0, a1, a2, a3, a4, a5, b1, b2, b3, b4):
    p = a0 + a1 * x + a2 * x**2 + a3 * x**3 + a4 * x**4 + a5 * x**5
    return p / (1.0 + jnp.abs(b1 * x + b2 * x**2 + b3 * x**3 + b4 * x**4))


rational = elementwise(
    name="rational",
    summary="Rational (Padé) activation unit: P(x) / (1 + |S(x)|) with learnable coefficients.",
    formula="(a0 + a1 x + ... + a5 x^5) / (1 + |b1 x + b2 x^2 + b3 x^3 + b4 x^4|)",
    derivative="(P' Q - P sign(S) S') / Q^2; df/da_k = x^k / Q; df/db_k = -P sign(S) x^k / Q^2",
    output_range=(-math.inf, math.inf),
    forward=_rational_forward,
    partials=_rational_partials,
    reference=_reference,
    saves="x",
    params=tuple(
        Param(n, v) for n, v in zip(NUMERATOR + DENOMINATOR, RATIONAL_INITS["leaky_relu"])
    ),
    # Beyond the fitted range the plain P cancels in float64 too (swish's initialisation at
    # x = -6.7: jax.grad of the reference is 1.7e-14 off where ours agrees with mpmath).
    trusted=(-4.0, 4.0),
    kinks=(
        Kink(
            lambda p: 0.0,
            _zero_slope,
            "x = 0 (a kink only when b1 != 0): f' = a1 -+ a0 b1, the smaller in magnitude",
        ),
        _root_kink(0),
        _root_kink(1),
        _root_kink(2),
    ),
    use="hidden layers that learn their own non-linearity (rational networks); initialise with "
    "`actfn.rational_init` and keep the coefficients out of weight decay",
    initializer=HE,
    paper='Molina et al., 2020, "Padé Activation Units: End-to-end Learning of Flexible '
    'Activation Functions in Deep Networks", https://arxiv.org/abs/1907.06732',
    example=tuple(zip(NUMERATOR + DENOMINATOR, RATIONAL_INITS["gelu"])),
    notes="Degrees (5, 4) as the paper's, with its safe denominator 1 + |S|, never below 1.  The "
    "defaults approximate leaky_relu on [-3, 3]; `actfn.rational_init(name)` gives gelu, tanh "
    "and swish.  Each coefficient may be a number or a learnable array (per channel).",
    args="".join(f"    {n}: the coefficient of x^{n[1]} in P.\n" for n in NUMERATOR)
    + "".join(f"    {n}: the coefficient of x^{n[1]} in S.\n" for n in DENOMINATOR),
)
