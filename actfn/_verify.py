"""The derivative checker: `actfn.verify` and the report it returns.

Every check is elementwise, at every input point (no random projection), and judged against
float64 truth: `jax.grad` of a plain reference formula, and Richardson-extrapolated central
finite differences of the function itself.  Low-precision inputs are never differenced in low
precision: the point is rounded to the dtype, and the truth is computed in float64 at that
rounded point.

Error measure.  A derivative (or value) `got` at x is compared with the truth `t` as

    |got - t| <= TOL * (eps * (|t| + scale) + tiny) + fd_error

where eps and tiny are the tested dtype's, `scale` is the largest |t| between 0 and x (so a
derivative computed from a saved output, which is limited in the tails, is judged relative to
the derivative's size where the function is not flat, while a steep tail such as exp's left one
is still judged on its own size), and `fd_error` is the finite-difference error estimate (the
difference of two Richardson levels plus rounding), zero for the `jax.grad` oracle.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from actfn._core import Spec
from actfn._registry import registered

# Tolerances, in units of the tested dtype's machine epsilon (see the module docstring).
TOL_VALUE = 8.0
TOL_GRAD = 16.0
TOL_SECOND = 64.0
TOL_LINEARITY = 4.0
# Finite differences: the step is FD_STEP * max(|x|, 1), halved twice for Richardson.
FD_STEP = 2.0**-12
# A point is non-smooth when the one-sided slopes disagree beyond smooth behaviour by this much
# relative to the derivative's scale.
KINK_THRESHOLD = 1e-5

DEFAULT_DTYPES = ("float32", "float64")


@dataclasses.dataclass(frozen=True)
class Check:
    """One check of one function in one dtype."""

    name: str
    dtype: str
    passed: bool
    max_abs: float = 0.0
    max_rel: float = 0.0
    score: float = 0.0  # max over points of error / allowed error; <= 1 passes
    worst_input: float | None = None
    got: float | None = None
    expected: float | None = None
    points: int = 0
    skipped: int = 0
    note: str = ""

    def message(self, function: str) -> str:
        where = ""
        if self.worst_input is not None:
            where = (
                f" at x = {self.worst_input!r}: got {self.got!r}, expected {self.expected!r}"
                f" (abs error {self.max_abs:.3g}, {self.score:.3g}x the tolerance)"
            )
        note = f"; {self.note}" if self.note else ""
        return f"{function}: check `{self.name}` failed in {self.dtype}{where}{note}"


@dataclasses.dataclass
class Report:
    """What `actfn.verify` found: one `Check` per check and dtype; `str()` gives a table."""

    function: str
    checks: list[Check] = dataclasses.field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def worst(self, keep: str | Callable[[str], bool]) -> Check | None:
        """The worst check (failed first, then highest score) among those whose name starts
        with `keep`, or for which `keep(name)` is true."""
        match = keep if callable(keep) else (lambda name: name.startswith(keep))
        found = [c for c in self.checks if match(c.name)]
        return max(found, key=lambda c: (not c.passed, c.score)) if found else None

    def __str__(self) -> str:
        rows = [
            (
                "check",
                "dtype",
                "status",
                "score",
                "max abs",
                "max rel",
                "worst x",
                "points",
                "skipped",
                "note",
            )
        ]
        for c in self.checks:
            rows.append(
                (
                    c.name,
                    c.dtype,
                    "ok" if c.passed else "FAIL",
                    f"{c.score:.3g}",
                    f"{c.max_abs:.3g}",
                    f"{c.max_rel:.3g}",
                    "" if c.worst_input is None else f"{c.worst_input:.6g}",
                    str(c.points),
                    str(c.skipped),
                    c.note,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [f"verify {self.function}: {'passed' if self.passed else 'FAILED'}"]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Resolving what to check.


@dataclasses.dataclass
class _Target:
    name: str
    fn: Callable
    spec: Spec | None
    params: dict  # continuous parameters: name -> float
    static: dict  # everything else passed through unchanged
    reference: Callable | None  # reference(x, *param values) in float64
    kinks: Callable[[dict], list]  # parameter values -> [(location, slope or None)]
    domain: tuple[float, float]
    trusted: tuple[float, float]
    elementwise: bool


def spec_of(fn: Callable) -> tuple[Spec | None, dict]:
    """The registered spec behind `fn` (or a partial of it) and the partial's keywords."""
    keywords: dict = {}
    target = fn
    if isinstance(fn, functools.partial):
        target, keywords = fn.func, dict(fn.keywords)
    entry = registered(target)
    if entry is not None:
        return entry, keywords
    attached = getattr(target, "spec", None)
    return (attached if isinstance(attached, Spec) else None), keywords


def _is_continuous(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return True
    return isinstance(value, (np.ndarray, np.generic, jax.Array)) and jnp.issubdtype(
        np.asarray(value).dtype, jnp.floating
    )


def _resolve(fn, reference, params, kinks) -> _Target:
    spec, keywords = spec_of(fn)
    base = fn.func if isinstance(fn, functools.partial) else fn
    name = spec.name if spec else getattr(base, "__name__", repr(base))
    given = {**keywords, **(params or {})}
    if spec is not None:
        values = {**spec.defaults, **dict(spec.options)}
        # Required parameters (prelu's alpha) take the spec's example value.
        values.update(
            {k: v for k, v in spec.example if values.get(k, None) is inspect.Parameter.empty}
        )
        values.update(given)
        missing = [k for k, v in values.items() if v is inspect.Parameter.empty]
        if missing:
            raise ValueError(f"`actfn.verify` needs a value for `{missing[0]}` of `{name}`.")
    else:
        values = given
    cont = {k: float(v) for k, v in values.items() if _is_continuous(v) and np.ndim(v) == 0}
    static = {k: v for k, v in values.items() if k not in cont}
    if reference is None and spec is not None and spec.reference is not None:
        order = [p.name for p in spec.params]
        ref_static = {k: v for k, v in static.items() if k in dict(spec.options)}

        def reference(x, *ps, _ref=spec.reference):
            full = dict(zip(cont, ps))
            args = [full.get(n, _none_value(spec, n, static.get(n))) for n in order]
            return _ref(x, *args, **ref_static)
    elif reference is not None:
        user_reference = reference

        def reference(x, *ps):
            return user_reference(x, **dict(zip(cont, ps)), **static)

    if kinks is None and spec is not None:
        # Kinks move with the parameters: evaluated at the values actually tested (rounded to
        # the dtype), so that they are where the function has them.
        def kink_list(rounded, _spec=spec):
            pv = {p.name: _none_value(_spec, p.name, values.get(p.name)) for p in _spec.params}
            pv.update(rounded)
            return [(k.at(pv), k.slope(pv)) for k in _spec.kinks]
    else:
        fixed = (
            list(kinks.items())
            if isinstance(kinks, Mapping)
            else [(k, None) for k in (kinks or ())]
        )

        def kink_list(rounded, _fixed=fixed):
            return _fixed

    def kinks(rounded, _list=kink_list):
        return [
            (float(a), None if s is None else float(s)) for a, s in _list(rounded) if np.isfinite(a)
        ]

    return _Target(
        name=name,
        fn=base,
        spec=spec,
        params=cont,
        static=static,
        reference=reference,
        kinks=kinks,
        domain=spec.domain if spec else (-math.inf, math.inf),
        trusted=spec.trusted if spec else (-math.inf, math.inf),
        elementwise=spec.elementwise if spec else True,
    )


def _none_value(spec: Spec, name: str, value):
    for p in spec.params:
        if p.name == name and value is None and p.none is not None:
            return p.none
    return value


def default_points(domain: tuple[float, float] = (-math.inf, math.inf)) -> np.ndarray:
    """The default grid: dense near 0, logarithmic out to 1e3, and seeded random points."""
    rng = np.random.default_rng(0)
    mags = np.concatenate([np.geomspace(1e-3, 1e3, 49), [2.0, 3.0, 5.0, 10.0, 20.0, 50.0]])
    pts = np.concatenate([np.linspace(-6.0, 6.0, 97), mags, -mags, rng.uniform(-8, 8, 64)])
    lo, hi = domain
    pts = pts[(pts > lo) & (pts < hi)]
    if lo > -math.inf and len(pts) < 50:
        pts = np.concatenate([pts, lo + np.geomspace(1e-2, 30.0, 97)])
    return np.unique(pts)


# ---------------------------------------------------------------------------------------------
# Numerical machinery (all truth in float64).


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


def _richardson(
    values: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    h: np.ndarray,
    ulps: float = TOL_VALUE,
    floor: np.ndarray | float = 0.0,
):
    """Central differences at h, h/2, h/4 and two Richardson levels, in float64.

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
    offsets = (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)
    stacked = np.concatenate([x + o * h for o in offsets])
    f = np.asarray(values(stacked), dtype=np.float64).reshape(len(offsets), -1)
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


# ---------------------------------------------------------------------------------------------
# The checks.


def _call(target: _Target) -> Callable:
    """fn(x, *param values) with the static arguments bound by keyword."""
    names = list(target.params)

    def call(x, *ps):
        return target.fn(x, **dict(zip(names, ps)), **target.static)

    return call


def _first_and_second(call, x, ps, order):
    """Per-point derivatives: values, d/dx, d/dparams (tuple), d2/dx2 (or None)."""

    def scalar(xi, *p):
        return call(xi, *p)

    argnums = tuple(range(1 + len(ps)))
    in_axes = (0,) + (None,) * len(ps)
    grads = jax.vmap(jax.grad(scalar, argnums=argnums), in_axes=in_axes)(x, *ps)
    second = None
    if order >= 2:
        second = jax.vmap(jax.grad(jax.grad(scalar)), in_axes=in_axes)(x, *ps)
    return grads[0], grads[1:], second


def _check_elementwise(target: _Target, points: np.ndarray, dtype, order: int) -> list[Check]:
    checks: list[Check] = []
    dname = str(jnp.dtype(dtype))
    call = _call(target)
    pnames = list(target.params)
    mode = _x64() if dname == "float64" else jax.enable_x64(False)
    with mode:
        x = jnp.asarray(points, dtype=dtype)
        ps = tuple(jnp.asarray(v, dtype=dtype) for v in target.params.values())
        y = call(x, *ps)
        dx, dps, d2 = _first_and_second(call, x, ps, order)
        checks += _structure(target, call, x, ps, y, dx, dps, dname)
        x_np = _np(x)
        p_np = [float(_np(p)) for p in ps]
        got = {"value": _np(y), "dx": _np(dx)}
        got_p = {n: _np(d) for n, d in zip(pnames, dps)}
        if d2 is not None:
            got["d2"] = _np(d2)

    with _x64():
        x64 = jnp.asarray(x_np)
        p64 = tuple(jnp.asarray(p) for p in p_np)
        h = FD_STEP * np.maximum(np.abs(x_np), 1.0)
        lo, hi = target.domain
        # Near the edge of the domain (log1mexp at 0) the stencil stays well inside it.
        h = np.minimum(h, np.where(np.isfinite(lo), (x_np - lo) / 32, np.inf))
        h = np.minimum(h, np.where(np.isfinite(hi), (hi - x_np) / 32, np.inf))
        # Finite differences of the function itself, in float64.
        f64 = jax.jit(call)
        fd, fd_err, rough, kink = _richardson(lambda z: f64(jnp.asarray(z), *p64), x_np, h)
        kink_points = target.kinks(dict(zip(pnames, p_np)))
        near_declared = _near(x_np, [a for a, _ in kink_points], 1.01 * h)
        undeclared = kink & ~near_declared
        skip = near_declared | rough
        in_trust = (x_np >= target.trusted[0]) & (x_np <= target.trusted[1])

        if target.reference is not None:
            ref = jax.jit(target.reference)
            ref_value = np.asarray(ref(x64, *p64))
            ref_grads = jax.vmap(
                jax.grad(lambda xi, *p: ref(xi, *p), argnums=tuple(range(1 + len(p64)))),
                in_axes=(0,) + (None,) * len(p64),
            )(x64, *p64)
            ref_grads = [np.asarray(g) for g in ref_grads]
            # Where the textbook formula overflows (exp(1000)) it is no oracle: those points
            # are left out of the reference checks and counted as skipped.
            broken = ~np.isfinite(ref_value) & np.isfinite(fd)
            for rg in ref_grads:
                broken |= ~np.isfinite(rg) & np.isfinite(fd)
            in_trust &= ~broken
            checks.append(
                _compare(
                    "value vs reference",
                    dname,
                    x_np,
                    got["value"],
                    ref_value,
                    TOL_VALUE,
                    ~in_trust,
                    reference=True,
                )
            )
            checks.append(
                _compare(
                    "grad vs reference",
                    dname,
                    x_np,
                    got["dx"],
                    ref_grads[0],
                    TOL_GRAD,
                    skip | ~in_trust,
                    reference=True,
                )
            )
            for n, rg in zip(pnames, ref_grads[1:]):
                checks.append(
                    _compare(
                        f"grad[{n}] vs reference",
                        dname,
                        x_np,
                        got_p[n],
                        rg,
                        TOL_GRAD,
                        skip | ~in_trust,
                        reference=True,
                    )
                )
            # The reference itself against finite differences of the reference: a wrong
            # reference is told apart from a wrong derivative.
            rfd, rfd_err, rrough, _ = _richardson(
                lambda z: ref(jnp.asarray(z), *p64), x_np, h, floor=np.maximum(np.abs(x_np), 1.0)
            )
            checks.append(
                _compare(
                    "reference vs finite differences",
                    "float64",
                    x_np,
                    ref_grads[0],
                    rfd,
                    TOL_GRAD,
                    skip | rrough | ~in_trust,
                    rfd_err,
                    reference=True,
                )
            )

        checks.append(
            _compare(
                "grad vs finite differences", dname, x_np, got["dx"], fd, TOL_GRAD, skip, fd_err
            )
        )
        for i, n in enumerate(pnames):
            hp = FD_STEP * max(abs(p_np[i]), 1.0) * np.ones_like(x_np)

            def along_p(z, i=i):
                # z holds one parameter value per point (stacked offsets): evaluate pointwise.
                zs = jnp.asarray(z)
                xs = jnp.tile(x64, zs.shape[0] // x64.shape[0])

                def one(xi, pi):
                    args = list(p64)
                    args[i] = pi
                    return call(xi, *args)

                return jax.vmap(one)(xs, zs)

            pfd, pfd_err, prough, _ = _richardson(along_p, np.full_like(x_np, p_np[i]), hp)
            checks.append(
                _compare(
                    f"grad[{n}] vs finite differences",
                    dname,
                    x_np,
                    got_p[n],
                    pfd,
                    TOL_GRAD,
                    skip | prough,
                    pfd_err,
                )
            )

        if order >= 2:
            first = jax.jit(
                jax.vmap(jax.grad(lambda xi, *p: call(xi, *p)), in_axes=(0,) + (None,) * len(p64))
            )
            fd2, fd2_err, rough2, _ = _richardson(
                lambda z: first(jnp.asarray(z), *p64), x_np, h, ulps=TOL_GRAD
            )
            # Where f' itself has a kink (elu at 0, sparse_plus at +-1) f'' is undefined: skip.
            skip2 = skip | rough2
            if target.reference is not None:
                ref2 = jax.vmap(
                    jax.grad(jax.grad(lambda xi, *p: ref(xi, *p))),
                    in_axes=(0,) + (None,) * len(p64),
                )(x64, *p64)
                checks.append(
                    _compare(
                        "second order vs reference",
                        dname,
                        x_np,
                        got["d2"],
                        np.asarray(ref2),
                        TOL_SECOND,
                        skip2 | ~in_trust,
                        reference=True,
                        scale="global",
                    )
                )
            checks.append(
                _compare(
                    "second order vs finite differences",
                    dname,
                    x_np,
                    got["d2"],
                    fd2,
                    TOL_SECOND,
                    skip2,
                    fd2_err,
                    scale="global",
                )
            )

        checks.append(_kink_check(kink_points, dname, dtype, call, ps, x_np, undeclared))
        # No NaN or inf in the gradient where the true derivative is finite.
        truth_finite = np.isfinite(fd) & ~skip & (np.abs(fd) <= float(jnp.finfo(dtype).max))
        bad = truth_finite & ~np.isfinite(got["dx"])
        checks.append(
            Check(
                "gradient finite",
                dname,
                not bad.any(),
                points=int(truth_finite.sum()),
                worst_input=float(x_np[bad][0]) if bad.any() else None,
                got=float(got["dx"][bad][0]) if bad.any() else None,
                expected=float(fd[bad][0]) if bad.any() else None,
                score=float(bad.sum()),
                note=f"{int(bad.sum())} non-finite" if bad.any() else "",
            )
        )
    return checks


def _kink_check(kink_points, dname, dtype, call, ps, x_np, undeclared) -> Check:
    """Declared kinks give exactly the declared derivative; no undeclared kink was found.

    A kink whose location is not a number of the dtype (hard_sigmoid's -offset/slope with a
    float16 slope) cannot be hit exactly, and is counted as skipped.
    """
    if undeclared.any():
        xs = x_np[undeclared]
        return Check(
            "kinks",
            dname,
            False,
            worst_input=float(xs[0]),
            points=len(kink_points),
            score=float(undeclared.sum()),
            note=f"{int(undeclared.sum())} point(s) where the function is not "
            f"differentiable and no kink is declared, first near x = {xs[0]:.6g}; "
            "declare them with `kinks=`",
        )
    declared = [(a, s) for a, s in kink_points if s is not None]
    exact = [(a, s) for a, s in declared if float(_np(jnp.asarray(a, dtype=dtype))) == a]
    skipped = len(declared) - len(exact)
    if not exact:
        return Check(
            "kinks",
            dname,
            True,
            points=0,
            skipped=skipped,
            note="no kinks declared" if not declared else "no kink representable",
        )
    declared = exact
    mode = _x64() if dname == "float64" else jax.enable_x64(False)
    with mode:
        where = jnp.asarray([a for a, _ in declared], dtype=dtype)
        got = jax.vmap(jax.grad(lambda xi, *p: call(xi, *p)), in_axes=(0,) + (None,) * len(ps))(
            where, *ps
        )
        expected = jnp.asarray([s for _, s in declared], dtype=dtype)
        got_np = _np(got)
        exp_np = _np(expected)
        at = _np(where)
    wrong = got_np != exp_np
    i = int(np.argmax(wrong)) if wrong.any() else 0
    return Check(
        "kinks",
        dname,
        not wrong.any(),
        max_abs=float(np.max(np.abs(got_np - exp_np))),
        worst_input=float(at[i]),
        got=float(got_np[i]),
        expected=float(exp_np[i]),
        points=len(declared),
        skipped=skipped,
        score=float(wrong.sum()),
        note="exact derivative at each declared kink",
    )


def _structure(target, call, x, ps, y, dx, dps, dname) -> list[Check]:
    """Properties of the backward rule that need no oracle."""
    out = []
    ok_dtype = (
        y.dtype == x.dtype
        and dx.dtype == x.dtype
        and y.shape == x.shape
        and dx.shape == x.shape
        and all(d.dtype == p.dtype for d, p in zip(dps, ps))
    )
    out.append(
        Check(
            "dtype and shape",
            dname,
            bool(ok_dtype),
            note=""
            if ok_dtype
            else f"input {x.dtype}{x.shape}: value "
            f"{y.dtype}{y.shape}, gradient {dx.dtype}{dx.shape}, parameter gradients "
            f"{[str(d.dtype) for d in dps]} for {[str(p.dtype) for p in ps]}",
        )
    )
    same = call(x, *ps)
    out.append(
        _bitwise(
            "value_and_grad value equals the call",
            dname,
            x,
            y,
            same,
            jax.vmap(jax.value_and_grad(lambda xi: call(xi, *ps)))(x)[0],
        )
    )
    primal, vjp = jax.vjp(lambda z, *p: call(z, *p), x, *ps)
    ones = vjp(jnp.ones_like(primal))[0]
    # Where the derivative is infinite (exp overflowing), 0 * inf is NaN in any backward rule.
    finite = np.isfinite(_np(ones))
    zero = vjp(jnp.zeros_like(primal))
    nonzero = [
        bool(np.any(np.asarray(z != 0) & finite))
        if z.shape == x.shape
        else bool(np.any(np.asarray(z != 0)))
        for z in zero
    ]
    out.append(
        Check(
            "zero cotangent gives zero",
            dname,
            not any(nonzero),
            note="" if not any(nonzero) else "the backward rule ignores the cotangent",
        )
    )
    g = jax.random.uniform(jax.random.key(1), x.shape, dtype=x.dtype, minval=-2.0, maxval=2.0)
    scaled = vjp(g)[0]
    eps = float(jnp.finfo(x.dtype).eps)
    with np.errstate(invalid="ignore", over="ignore"):
        a = _np(scaled)
        # In NumPy float64: a gradient of the wrong dtype must be reported, not crash here.
        b = _np(g) * _np(ones)
        err = np.abs(a - b)
        bound = TOL_LINEARITY * eps * np.abs(b) + float(jnp.finfo(x.dtype).tiny)
        bad = ~(err <= bound) & np.isfinite(b)
    i = int(np.argmax(bad)) if bad.any() else 0
    xf = _np(x)
    out.append(
        Check(
            "linear in the cotangent",
            dname,
            not bad.any(),
            worst_input=float(xf[i]) if bad.any() else None,
            got=float(a[i]) if bad.any() else None,
            expected=float(b[i]) if bad.any() else None,
            points=int(x.size),
            note="vjp(g) = g * vjp(1) elementwise",
        )
    )
    again = vjp(g)[0]
    det = bool(np.array_equal(_np(scaled), _np(again), equal_nan=True))
    out.append(Check("deterministic", dname, det, note="two backward passes bitwise equal"))
    return out


def _bitwise(name, dname, x, y, same, from_vag) -> Check:
    a = _np(y)
    b = _np(from_vag)
    ok = (
        y.dtype == from_vag.dtype
        and np.array_equal(a, b, equal_nan=True)
        and np.array_equal(a, _np(same), equal_nan=True)
    )
    diff = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    i = int(np.argmax(diff)) if diff.any() else 0
    xf = _np(x)
    return Check(
        name,
        dname,
        bool(ok),
        worst_input=float(xf[i]) if not ok else None,
        got=float(b[i]) if not ok else None,
        expected=float(a[i]) if not ok else None,
        points=int(x.size),
        note="" if ok else "the custom_vjp forward rule returns another value",
    )


# ---------------------------------------------------------------------------------------------
# Activations along an axis (softmax, glu, ...): whole vector-Jacobian products.


def _check_axis(target: _Target, dtype, order: int) -> list[Check]:
    dname = str(jnp.dtype(dtype))
    call = _call(target)
    rng = np.random.default_rng(0)
    shape = (4, 6)
    x_np = rng.normal(scale=2.0, size=shape)
    checks: list[Check] = []
    mode = _x64() if dname == "float64" else jax.enable_x64(False)
    with mode:
        x = jnp.asarray(x_np, dtype=dtype)
        y, vjp = jax.vjp(call, x)
        g = jnp.asarray(rng.normal(size=y.shape), dtype=dtype)
        (dx,) = vjp(g)
        ok = y.dtype == x.dtype and dx.dtype == x.dtype and dx.shape == x.shape
        checks.append(Check("dtype and shape", dname, bool(ok)))
        (_, inside), _ = jax.value_and_grad(
            lambda z: (jnp.vdot(g, call(z)), call(z)), has_aux=True
        )(x)
        plain = call(x)
        checks.append(
            Check(
                "value_and_grad value equals the call",
                dname,
                bool(
                    inside.dtype == plain.dtype
                    and jnp.array_equal(inside, plain)
                    and jnp.array_equal(y, plain)
                ),
            )
        )
        (zero,) = vjp(jnp.zeros_like(y))
        checks.append(Check("zero cotangent gives zero", dname, not bool(jnp.any(zero != 0))))
        (again,) = vjp(g)
        checks.append(Check("deterministic", dname, bool(jnp.array_equal(dx, again))))
        second = None
        if order >= 2:
            v = jnp.asarray(rng.normal(size=shape), dtype=dtype)
            second = jax.grad(lambda z: jnp.vdot(v, jax.grad(lambda w: jnp.vdot(g, call(w)))(z)))(x)
        x_used = _np(x)
        g_used = _np(g)
        dx_np = _np(dx)
        y_np = _np(y)
        second_np = None if second is None else _np(second)
        v_np = None if second is None else _np(v)
    with _x64():
        x64 = jnp.asarray(x_used)
        g64 = jnp.asarray(g_used)
        f64 = jax.jit(call)
        # Finite differences of <g, f(x)> along each input coordinate: the whole J^T g.
        flat = x_used.reshape(-1)
        h = FD_STEP * np.maximum(np.abs(flat), 1.0)
        n = flat.size

        def directional(z):
            zs = np.asarray(z).reshape(-1, n)  # one perturbation of coordinate k per row
            return np.asarray(
                jax.vmap(lambda r: jnp.vdot(g64, f64(r.reshape(shape))))(jnp.asarray(zs))
            )

        offsets = (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)
        rows = []
        for o in offsets:
            rows.append(np.tile(flat, (n, 1)) + np.diag(o * h))
        vals = directional(np.concatenate(rows)).reshape(len(offsets), n)
        r1, r2 = _extrapolate(vals, h)
        fd_err = np.abs(r2 - r1) + 16 * np.finfo(np.float64).eps * np.max(np.abs(vals), 0) / h
        flat_skip = np.zeros(n, dtype=bool)
        scale = np.full(n, np.max(np.abs(r2)))
        checks.append(
            _compare(
                "vjp vs finite differences",
                dname,
                flat,
                dx_np.reshape(-1),
                r2,
                TOL_GRAD,
                flat_skip,
                fd_err,
                scale=scale,
            )
        )
        if target.reference is not None:
            ref = jax.jit(target.reference)
            ref_y = np.asarray(ref(x64))
            ref_dx = np.asarray(jax.vjp(ref, x64)[1](g64)[0])
            yscale = np.full(ref_y.size, np.max(np.abs(ref_y)))
            checks.append(
                _compare(
                    "value vs reference",
                    dname,
                    np.arange(ref_y.size),
                    y_np.reshape(-1),
                    ref_y.reshape(-1),
                    TOL_VALUE,
                    np.zeros(ref_y.size, bool),
                    scale=yscale,
                )
            )
            checks.append(
                _compare(
                    "vjp vs reference",
                    dname,
                    flat,
                    dx_np.reshape(-1),
                    ref_dx.reshape(-1),
                    TOL_GRAD,
                    flat_skip,
                    scale=np.full(n, np.max(np.abs(ref_dx))),
                )
            )
            checks.append(
                _compare(
                    "reference vs finite differences",
                    "float64",
                    flat,
                    ref_dx.reshape(-1),
                    r2,
                    TOL_GRAD,
                    flat_skip,
                    fd_err,
                    scale=scale,
                )
            )
            if second_np is not None:
                v64 = jnp.asarray(v_np)
                ref2 = np.asarray(
                    jax.grad(lambda z: jnp.vdot(v64, jax.grad(lambda w: jnp.vdot(g64, ref(w)))(z)))(
                        x64
                    )
                )
                checks.append(
                    _compare(
                        "second order vs reference",
                        dname,
                        flat,
                        second_np.reshape(-1),
                        ref2.reshape(-1),
                        TOL_SECOND,
                        flat_skip,
                        scale=np.full(n, np.max(np.abs(ref2))),
                    )
                )
    return checks


# ---------------------------------------------------------------------------------------------


def verify(
    fn: Callable,
    reference: Callable | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    points: Sequence[float] | np.ndarray | None = None,
    dtypes: Sequence[Any] | None = None,
    order: int = 2,
    kinks: Mapping[float, float] | Sequence[float] | None = None,
    raise_on_failure: bool = True,
) -> Report:
    """Check a function's hand-written derivative at every point, against float64 oracles.

    Works on actfn's activations (their reference, kinks and parameters are known), on
    `actfn.define` results, and on any `jax.custom_vjp` function written by hand.

    Args:
        fn: the activation, called as `fn(x, **params)`.
        reference: a plain formula `reference(x, **params)` whose `jax.grad` in float64 is the
            oracle; None uses the registered one, if any.  Finite differences of `fn` itself
            are always an oracle too, and the reference is checked against them.
        params: parameter values.  Floats are differentiated (their gradients are checked);
            anything else (ints, bools, strings, None) is passed through unchanged.
        points: input points (default: a grid from -1e3 to 1e3, dense near 0).
        dtypes: dtypes to test (default float32 and float64); float16 and bfloat16 are judged
            against float64 truth at the rounded points.
        order: 2 also checks the second derivative (grad of grad).
        kinks: the non-differentiable points, as `{x: derivative there}` to check that
            derivative exactly, or a list of locations.  Points within the finite-difference
            step of a kink are skipped and counted; undeclared kinks are reported.
        raise_on_failure: raise `AssertionError` naming the first failed check.

    Returns:
        A `Report`; `str(report)` is a table, `report.passed` the verdict.
    """
    target = _resolve(fn, reference, params, kinks)
    report = Report(target.name)
    dtypes = tuple(dtypes) if dtypes is not None else DEFAULT_DTYPES
    for dtype in dtypes:
        dtype = jnp.dtype(dtype)
        if target.elementwise:
            pts = np.asarray(
                points if points is not None else default_points(target.domain), dtype=np.float64
            ).reshape(-1)
            report.checks += _check_elementwise(target, pts, dtype, order)
        else:
            report.checks += _check_axis(target, dtype, order)
    if raise_on_failure and not report.passed:
        raise AssertionError("\n".join(c.message(target.name) for c in report.failures))
    return report
