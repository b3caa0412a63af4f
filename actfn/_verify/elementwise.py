"""The checks of an elementwise activation: derivatives against both oracles, second order,
kinks, and the structure of the backward rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from actfn._verify.oracles import _call, _compare, _first_and_second, _near, _np, _richardson, _x64
from actfn._verify.report import FD_STEP, TOL_GRAD, TOL_LINEARITY, TOL_SECOND, TOL_VALUE, Check
from actfn._verify.target import _Target


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
            ref_grads = jax.jit(
                jax.vmap(
                    jax.grad(lambda xi, *p: ref(xi, *p), argnums=tuple(range(1 + len(p64)))),
                    in_axes=(0,) + (None,) * len(p64),
                )
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

                return jax.jit(jax.vmap(one))(xs, zs)

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
                ref2 = jax.jit(
                    jax.vmap(
                        jax.grad(jax.grad(lambda xi, *p: ref(xi, *p))),
                        in_axes=(0,) + (None,) * len(p64),
                    )
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

        sides = None
        if undeclared.any():
            at = x_np[undeclared]
            sides = _one_sided(lambda z: f64(jnp.asarray(z), *p64), at, h[undeclared])
            sides += (got["dx"][undeclared],)
        checks.append(_kink_check(kink_points, dname, dtype, call, ps, x_np, undeclared, sides))
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
                figure=f"{int(bad.sum())} non-finite gradient(s) where the derivative is finite"
                if bad.any()
                else "",
            )
        )
    return checks


def _one_sided(values, x: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The slopes left and right of a kink within h/4 of x, in float64: differences over
    [x - h, x - h/4] and [x + h/4, x + h], which lie on one side of it."""
    f = np.asarray(values(np.concatenate([x - h, x - h / 4, x + h / 4, x + h]))).reshape(4, -1)
    return (f[1] - f[0]) / (0.75 * h), (f[3] - f[2]) / (0.75 * h)


def _kink_check(kink_points, dname, dtype, call, ps, x_np, undeclared, sides) -> Check:
    """Declared kinks give exactly the declared derivative; no undeclared kink was found.

    A kink whose location is not a number of the dtype (hard_sigmoid's -offset/slope with a
    float16 slope) cannot be hit exactly, and is counted as skipped.  An undeclared one is
    reported with the one-sided derivatives measured there (`sides`: left, right, and the
    backward rule's value).
    """
    if undeclared.any():
        xs = x_np[undeclared]
        left, right, rule = (float(v[0]) for v in sides)
        return Check(
            "kinks",
            dname,
            False,
            worst_input=float(xs[0]),
            points=len(kink_points),
            figure=f"not differentiable there: one-sided derivatives {left:.6g} (left) and "
            f"{right:.6g} (right), the backward rule gives {rule:.6g}; "
            f"{int(undeclared.sum())} such point(s) and no kink declared there",
            note=f"declare it with `kinks={{{float(f'{xs[0]:.6g}')!r}: d}}`, d the derivative to "
            "return there (the README's rule takes the one-sided one of smaller magnitude)",
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
        got = jax.jit(
            jax.vmap(jax.grad(lambda xi, *p: call(xi, *p)), in_axes=(0,) + (None,) * len(ps))
        )(where, *ps)
        expected = jnp.asarray([s for _, s in declared], dtype=dtype)
        got_np = _np(got)
        exp_np = _np(expected)
        at = _np(where)
    wrong = ~((got_np == exp_np) | (np.isnan(got_np) & np.isnan(exp_np)))
    i = int(np.argmax(wrong)) if wrong.any() else 0
    return Check(
        "kinks",
        dname,
        not wrong.any(),
        max_abs=float(np.max(np.abs(got_np - exp_np))),
        worst_input=float(at[i]) if wrong.any() else None,
        got=float(got_np[i]) if wrong.any() else None,
        expected=float(exp_np[i]) if wrong.any() else None,
        points=len(declared),
        skipped=skipped,
        figure=f"the declared derivative is exact; {int(wrong.sum())} of {len(declared)} "
        "kink(s) differ"
        if wrong.any()
        else "",
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
            figure=""
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
            jax.jit(
                jax.vmap(jax.value_and_grad(lambda xi, *p: call(xi, *p)), (0,) + (None,) * len(ps))
            )(x, *ps)[0],
        )
    )

    @jax.jit
    def vjp(g, x=x, ps=ps):
        # One compiled backward pass, run for each cotangent (the cotangent is an argument, so
        # XLA cannot fold a zero one away).
        return jax.vjp(lambda z, *p: call(z, *p), x, *ps)[1](g)

    primal = y
    ones = vjp(jnp.ones_like(primal))[0]
    # Where the derivative is infinite (exp overflowing), 0 * inf is NaN in any backward rule.
    finite = np.isfinite(_np(ones))
    zero = vjp(jnp.zeros_like(primal))
    names = ["x", *target.params]
    nonzero = [
        (n, _np(z), (_np(z) != 0) & finite if z.shape == x.shape else _np(z) != 0)
        for n, z in zip(names, zero)
    ]
    nonzero = [(n, z, bad) for n, z, bad in nonzero if bad.any()]
    figure = ""
    if nonzero:
        n, z, bad = nonzero[0]
        i = int(np.argmax(bad.reshape(-1)))
        at = f" at x = {float(_np(x).reshape(-1)[i])!r}" if z.shape == x.shape else ""
        figure = (
            f"the cotangent of `{n}` for a zero cotangent is {float(z.reshape(-1)[i])!r}{at} "
            f"({int(bad.sum())} nonzero); the backward rule ignores the cotangent"
        )
    out.append(Check("zero cotangent gives zero", dname, not nonzero, figure=figure))
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
        score = np.where(np.isfinite(b), np.where(np.isnan(err), np.inf, err) / bound, 0.0)
    i = int(np.argmax(score)) if bad.any() else 0
    xf = _np(x)
    out.append(
        Check(
            "linear in the cotangent",
            dname,
            not bad.any(),
            max_abs=float(err[i]) if bad.any() else 0.0,
            score=float(score[i]) if bad.any() else 0.0,
            worst_input=float(xf[i]) if bad.any() else None,
            got=float(a[i]) if bad.any() else None,
            expected=float(b[i]) if bad.any() else None,
            points=int(x.size),
            note="vjp(g) = g * vjp(1) elementwise",
        )
    )
    again = _np(vjp(g)[0])
    differ = ~((a == again) | (np.isnan(a) & np.isnan(again)))
    j = int(np.argmax(differ)) if differ.any() else 0
    out.append(
        Check(
            "deterministic",
            dname,
            not differ.any(),
            worst_input=float(xf[j]) if differ.any() else None,
            got=float(again[j]) if differ.any() else None,
            expected=float(a[j]) if differ.any() else None,
            points=int(x.size),
            figure=f"two backward passes differ at {int(differ.sum())} point(s)"
            if differ.any()
            else "",
            note="two backward passes bitwise equal",
        )
    )
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
        figure=""
        if ok
        else f"value_and_grad's value differs from the call at {int(diff.sum())} point(s) "
        f"(dtype {from_vag.dtype} for {y.dtype}); the custom_vjp forward rule returns another "
        "value",
    )
