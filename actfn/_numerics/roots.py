"""f' next to its simple zeros: silu, gelu, gelu's tanh form, mish, and snake's df/da.

Next to a simple zero x0 of f', f' is a sum of terms of order 1 that cancel, so an absolute
error of a few eps is a relative error without bound (silu: 230 ulp on a 1,500-point grid).
Within `ROOT_RADIUS` of x0, f'(x) = d P(d) with d = x - x0 (x0 as hi + lo, x - hi exact) and P
a Chebyshev fit of f'(x0 + d) / d within an eighth of an eps, written by
tools/fit_derivative_roots.py.  Guarantee: f' within 8 ulp next to each zero.

Held by tests/test_accuracy.py: test_derivative_next_to_its_zero_within_eight_ulp and
test_the_fitting_scripts_reproduce_the_constants_in_the_code.
"""

from __future__ import annotations

from decimal import Decimal

import jax.numpy as jnp

from actfn._numerics.exact import split_constant
from actfn._numerics.policy import dtype_kind, narrow_input
from actfn._numerics.series import horner

# Next to a simple zero x0 of f' (silu, gelu, mish), f' is a sum of terms of order 1 that
# cancel: an absolute error of a few eps is a relative error without bound (silu: 230 ulp on a
# 1,500-point grid).  Within RADIUS of x0, f'(x) = d P(d), d = x - x0 with x0 as hi + lo (x - hi
# is exact), and P a Chebyshev fit of f'(x0 + d) / d within an eighth of an eps
# (tools/fit_derivative_roots.py).  Outside the window the general formula is within 8 ulp.
ROOT_RADIUS = 0.4


DERIVATIVE_ROOTS = {
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
    # first zero (the later ones: `snake_h`).
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
    """Where `near_root` takes `name`'s polynomial: within ROOT_RADIUS of its zero, and never
    for a bfloat16/float16 x (never close enough to the zero to tell)."""
    if narrow_input():
        return jnp.zeros_like(x, dtype=bool)
    hi = split_constant(DERIVATIVE_ROOTS[name][0], dtype_kind(x))[0]
    return jnp.abs(x - hi) < ROOT_RADIUS


def near_root(name, x, general, x_lo=0.0):
    """`name`'s f'(x): `general` (an array), or d P(d) in `root_window` (x_lo: the rounding
    error of x, where x is itself a rounded product)."""
    if narrow_input():
        return general
    kind = dtype_kind(x)
    root, p32, p64 = DERIVATIVE_ROOTS[name]
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
