"""The float64 oracles: finite differences with Richardson extrapolation, and the comparison
with the error measure of the package docstring."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np

from actfn._verify.report import KINK_THRESHOLD, TOL_VALUE, Check
from actfn._verify.target import _Target


def _x64():
    return jax.enable_x64(True)


def _np(a) -> np.ndarray:
    """An array as float64 NumPy, exactly (bfloat16 and float16 widen without rounding)."""
    return np.asarray(a, dtype=np.float64)


def _segment_scale(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For each point, the largest finite |t| among the points between 0 and it (inclusive)."""
    order = np.argsort(x)
    xs, ts = x[order], np.abs(t[order])
    ts = np.where(np.isfinite(ts), ts, 0.0)
    start = int(np.argmin(np.abs(xs - np.clip(0.0, xs[0], xs[-1]))))
    out = np.empty_like(ts)
    out[start:] = np.maximum.accumulate(ts[start:])
    out[: start + 1] = np.maximum.accumulate(ts[: start + 1][::-1])[::-1]
    out[start] = ts[start]
    result = np.empty_like(out)
    result[order] = out
    return result


def _compare(
    name, dtype, x, got, truth, tol, skip, fd_error=None, scale=None, reference=False
) -> Check:
    """Judge `got` against `truth` pointwise with the measure of the module docstring.

    `reference=True` marks a float64 textbook formula as the truth: its own rounding (about
    eps64 * max(|x|, 1) where its terms cancel, as exp(x) - 1 near 0) is allowed for too.
    """
    info = jnp.finfo(dtype)
    eps, tiny = float(info.eps), float(info.tiny)
    got = np.asarray(got, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    # A true value beyond the dtype's range is, in that dtype, an infinity.
    with np.errstate(invalid="ignore"):
        truth = np.where(np.abs(truth) > float(info.max), np.sign(truth) * np.inf, truth)
    use = ~skip & ~np.isnan(truth)
    if isinstance(scale, str):  # "global": the largest |truth| anywhere
        finite = use & np.isfinite(truth)
        scale = np.full_like(truth, np.max(np.abs(truth[finite])) if finite.any() else 0.0)
    if scale is None:
        scale = np.zeros_like(truth)
        if use.any():
            scale[use] = _segment_scale(x[use], truth[use])
    allowed = tol * (eps * (np.abs(truth) + scale) + tiny)
    if fd_error is not None:
        allowed = allowed + fd_error
    if reference:
        allowed = allowed + tol * np.finfo(np.float64).eps * np.maximum(np.abs(x), 1.0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        err = np.abs(got - truth)
        same_inf = np.isinf(truth) & (got == truth)
        err = np.where(same_inf, 0.0, err)
        err = np.where(np.isnan(err), np.inf, err)
        score = np.where(use, err / allowed, 0.0)
        rel = np.where(use & (truth != 0), err / np.abs(truth), 0.0)
    n = int(use.sum())
    if n == 0:
        return Check(
            name, str(dtype), True, points=0, skipped=int(skip.sum()), note="no points to check"
        )
    i = int(np.argmax(np.where(use, score, -1.0)))
    return Check(
        name=name,
        dtype=str(dtype),
        passed=bool(np.all(score[use] <= 1.0)),
        max_abs=float(np.max(np.where(use, np.where(np.isfinite(err), err, np.inf), 0.0))),
        max_rel=float(np.max(rel)),
        score=float(score[i]),
        worst_input=float(x[i]),
        got=float(got[i]),
        expected=float(truth[i]),
        points=n,
        skipped=int((skip & ~np.isnan(truth)).sum()),
    )


def _extrapolate(f: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two Richardson levels R1, R2 from f at x + (-1, -1/2, -1/4, 0, 1/4, 1/2, 1) h (rows).

    Central differences at h, h/2, h/4 have errors in h^2; R1 = (4 D(h/2) - D(h)) / 3 and
    R2 = (4 D(h/4) - D(h/2)) / 3 cancel that term.
    """
    fm1, fm2, fm4, _, fp4, fp2, fp1 = f
    d1 = (fp1 - fm1) / (2 * h)
    d2 = (fp2 - fm2) / h
    d4 = (fp4 - fm4) / (0.5 * h)
    return (4 * d2 - d1) / 3, (4 * d4 - d2) / 3


# The finite-difference stencil: x + o h for each offset o, offset by offset.
OFFSETS = (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)


def _stencil(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The points at which `_richardson` takes the function's values, as one array."""
    return np.concatenate([x + o * h for o in OFFSETS])


def _richardson(
    values: np.ndarray,
    x: np.ndarray,
    h: np.ndarray,
    ulps: float = TOL_VALUE,
    floor: np.ndarray | float = 0.0,
):
    """Central differences at h, h/2, h/4 and two Richardson levels, in float64, from the
    function's `values` at `_stencil(x, h)`.

    The values are taken to be accurate to `ulps` float64 ulps of (|f| + the largest |f|
    between 0 and x + `floor`), the measure `_compare` accepts (a textbook reference, whose
    terms cancel, passes `floor = max(|x|, 1)`); R2 weighs them so that their rounding adds at
    most 6 * that / h.  Returns the estimate R2, its error
    bound (2 |R2 - R1|, which bounds R2's error whenever it shrinks at least linearly with h,
    plus rounding), and two masks: `rough`,
    where the function is not smooth inside the stencil (the one-sided slope jumps do not
    halve with the step, so finite differences cannot be trusted there), and `kink`, where the
    slope jump persists at every step (a point where the first derivative jumps).
    """
    f = np.asarray(values, dtype=np.float64).reshape(len(OFFSETS), -1)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        fm1, fm2, fm4, f0, fp4, fp2, fp1 = f
        r1, r2 = _extrapolate(f, h)
        size = np.max(np.abs(np.where(np.isfinite(f), f, 0.0)), axis=0)
        size = size + _segment_scale(x, np.where(np.isfinite(f0), f0, 0.0)) + floor
        rounding = 6 * ulps * np.finfo(np.float64).eps * size / h
        error = 2 * np.abs(r2 - r1) + rounding
        # Jumps of the one-sided slopes: about h |f''| where f is smooth, so they halve with h.
        j1 = np.abs((fp1 - f0) - (f0 - fm1)) / h
        j2 = np.abs((fp2 - f0) - (f0 - fm2)) / (0.5 * h)
        j4 = np.abs((fp4 - f0) - (f0 - fm4)) / (0.25 * h)
        noise = 8 * rounding
        rough = (np.abs(j1 - 2 * j2) > 0.1 * j1 + noise) | (np.abs(j2 - 2 * j4) > 0.1 * j2 + noise)
        scale = np.abs((fp4 - fm4) / (0.5 * h)) + KINK_THRESHOLD  # the slope at step h/4
        # A kink within h/4 of x shows the same slope jump at all three steps.
        steady = (np.abs(j2 - j1) <= 0.25 * j1) & (np.abs(j4 - j2) <= 0.25 * j2)
        kink = steady & (j4 > KINK_THRESHOLD * scale + noise)
        rough |= ~np.isfinite(r2) | kink
    return r2, error, rough, kink


def _near(x: np.ndarray, locations: Iterable[float], radius: np.ndarray) -> np.ndarray:
    near = np.zeros(x.shape, dtype=bool)
    for a in locations:
        near |= np.abs(x - a) <= radius
    return near


def _call(target: _Target) -> Callable:
    """fn(x, *param values) with the static arguments bound."""
    return target.fn
