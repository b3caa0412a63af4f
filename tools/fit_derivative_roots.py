"""Fits the polynomials for f' next to its zero: silu, gelu, mish, snake's df/da (test extra).

    python tools/fit_derivative_roots.py

prints the roots and coefficients pasted into actfn/_numerics/roots.py (DERIVATIVE_ROOTS). Next
to a simple zero x0 of f', the general formula for f' is a sum of terms of order 1 that cancel,
so its absolute error of a few eps is a huge relative one (silu: 230 ulp on a 1,500-point grid,
without bound on every float). There f'(x) = d P(d) with d = x - x0, x0 carried as hi + lo so
that d is exact but for one rounding, and P(d) = f'(x0 + d) / d is smooth and far from 0: its
Chebyshev fit on [-radius, radius] (mpmath.chebyfit, 60 digits) keeps f' within a few ulps of
the truth. The degree is the lowest whose relative error is below an eighth of the dtype's eps.
"""

import mpmath as mp

mp.mp.dps = 60
# Half-width of the window around the root: where the general formula is beyond 8 ulp inside
# and within 8 ulp outside (measured on dense float32 and float64 grids).
RADIUS = 0.4
C1 = 2 * mp.sqrt(2 / mp.pi)  # gelu's tanh form: sigmoid(C1 x + C3 x^3)
C3 = C1 * mp.mpf("0.044715")


def _sig(v):
    return 1 / (1 + mp.exp(-v))


def _silu(v):
    return _sig(v) * (1 + v * (1 - _sig(v)))


def _gelu(v):
    return mp.ncdf(v) + v * mp.npdf(v)


def _gelu_tanh(v):
    s = _sig(C1 * v + C3 * v**3)
    return s * (1 + v * (1 - s) * (C1 + 3 * C3 * v**2))


def _mish(v):
    t = mp.tanh(mp.log1p(mp.exp(v)))
    return t + v * (1 - t * t) * _sig(v)


def _snake_a(v):
    # snake's df/da at a = 1 (even in v; its first zero, tan v = 2v; the later ones are
    # tools/build_snake_roots_table.py's).
    return v * mp.sin(2 * v) - mp.sin(v) ** 2


DERIVATIVES = {
    "silu": (_silu, -1.28),
    "gelu": (_gelu, -0.75),
    "gelu_tanh": (_gelu_tanh, -0.75),
    "mish": (_mish, -1.19),
    "snake_a": (_snake_a, 1.17),
}


def _chebyfit(f, n):
    """mpmath.chebyfit on [-RADIUS, RADIUS], coefficients in ascending order of power.

    mpmath 1.4 deprecates the descending order (a warning) and takes `asc=True`; 1.3 has only
    the descending order.
    """
    try:
        return mp.chebyfit(f, [-RADIUS, RADIUS], n, error=True, asc=True)
    except TypeError:
        poly, err = mp.chebyfit(f, [-RADIUS, RADIUS], n, error=True)
        return poly[::-1], err


def fit(h, guess, eps):
    root = mp.findroot(h, guess)
    slope = mp.diff(h, root)

    def quotient(d):
        return slope if d == 0 else h(root + d) / d

    for degree in range(2, 40):
        poly, err = _chebyfit(quotient, degree + 1)
        if err / abs(quotient(RADIUS)) < eps / 8 and err / abs(quotient(-RADIUS)) < eps / 8:
            return root, [float(c) for c in poly], err
    raise RuntimeError("no degree below 40 fits")


# The fit's target: an eighth of each dtype's eps.
EPS = {"float32": 2.0**-23, "float64": 2.0**-52}

if __name__ == "__main__":
    for name, (h, guess) in DERIVATIVES.items():
        for label, eps in EPS.items():
            root, coefficients, err = fit(h, guess, eps)
            print(f"# {name} {label}: root {mp.nstr(root, 40)}, max abs error {mp.nstr(err, 3)}")
            print(tuple(coefficients))
