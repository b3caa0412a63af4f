"""Fits the rational functions that gelu uses for the Gaussian tail (run with the test extra).

    python tools/fit_gaussian_tail.py

prints the coefficients pasted into actfn/_numerics/gaussian.py (TAIL_FITS).  The scaled Mills ratio
R(t) = Phi(-t) exp(t^2 / 2), with Phi the normal CDF, is smooth, positive and ~ 1 / (t sqrt(2 pi))
for large t, so that Phi(-t) = exp(-t^2 / 2) R(t) keeps full relative accuracy once
exp(-t^2 / 2) is computed from an exact argument.  gelu writes R = K / (t + T(t)), where K is
1 / sqrt(2 pi) rounded to the dtype: T = K / R - t absorbs K's own rounding (0.24 eps in
float32), which would otherwise bias every result.  T (0.80 at 0, ~ 1/t for large t) is fitted
as P / Q of equal degrees on [0, top] in the minimax relative sense (linearised least squares,
Sanathanan-Koerner iteration with Lawson reweighting) at 90 digits, in the variable u = t / top
for conditioning, and the coefficients are returned in t.  Both fits come out with all
coefficients positive, so Horner's rule on t >= 0 has no cancellation.  tests/test_accuracy.py
checks gelu against mpmath on dense grids.
"""

import mpmath as mp

mp.mp.dps = 90


def scaled_mills(t):
    return mp.ncdf(-t) * mp.exp(t * t / 2)


def tail_t(k):
    """T(t) = k / R(t) - t for the dtype's rounded K = k."""
    return lambda t: k / scaled_mills(t) - t


def _ascending(coefficients, u):
    # Horner's rule on coefficients of ascending powers (mpmath 1.4 deprecates polyval's
    # descending order, and 1.3 has no other).
    acc = mp.mpf(0)
    for c in reversed(coefficients):
        acc = acc * u + c
    return acc


def fit(f, top, n, points=240, iterations=12):
    top = mp.mpf(top)
    nodes = [top * (1 - mp.cos(mp.pi * (i + mp.mpf(0.5)) / points)) / 2 for i in range(points)]
    values = [f(t) for t in nodes]
    us = [t / top for t in nodes]
    weights = [1 / v for v in values]
    q_prev = [mp.mpf(1)] * points
    for _ in range(iterations):
        rows, rhs = [], []
        for u, v, w, qp in zip(us, values, weights, q_prev):
            s = w / qp
            rows.append([s * u**j for j in range(n + 1)] + [-s * v * u**j for j in range(1, n + 1)])
            rhs.append(s * v)
        a, b = mp.matrix(rows), mp.matrix(rhs)
        solution = mp.lu_solve(a.T * a, a.T * b)
        p = [solution[j] for j in range(n + 1)]
        q = [mp.mpf(1)] + [solution[n + j] for j in range(1, n + 1)]
        q_prev = [_ascending(q, u) for u in us]
        errors = [(_ascending(p, u) / qv - v) / v for u, qv, v in zip(us, q_prev, values)]
        weights = [w * (abs(e) ** 0.5 + mp.mpf(10) ** -60) for w, e in zip(weights, errors)]
        weights = [w / max(weights) for w in weights]
    worst = max(abs(e) for e in errors)
    # Back from u = t / top to t.
    return [c / top**j for j, c in enumerate(p)], [c / top**j for j, c in enumerate(q)], worst


# Per dtype: the interval's top and the degree of P and Q.
FITS = {"float32": (14, 6), "float64": (40, 12)}


def fit_for(kind):
    """P, Q and the worst relative error of the dtype's fit, K rounded to that dtype."""
    import numpy as np

    top, n = FITS[kind]
    k = mp.mpf(float(np.asarray(float(1 / mp.sqrt(2 * mp.pi)), kind)))
    return fit(tail_t(k), top, n)


if __name__ == "__main__":
    for label, (top, n) in FITS.items():
        p, q, worst = fit_for(label)
        print(f"# {label}: t in [0, {top}], P{n}/Q{n}, max relative error {mp.nstr(worst, 3)}")
        print("P =", tuple(float(c) for c in p))
        print("Q =", tuple(float(c) for c in q))
