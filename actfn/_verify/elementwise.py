"""The checks of an elementwise activation: derivatives against both oracles, second order,
kinks, and the structure of the backward rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from actfn._verify.oracles import OFFSETS, _call, _compare, _near, _np, _richardson, _stencil, _x64
from actfn._verify.report import FD_STEP, TOL_GRAD, TOL_LINEARITY, TOL_SECOND, TOL_VALUE, Check
from actfn._verify.target import _Target


def _programs(call, reference, n: int, order: int):
    """The compiled programs of one check, built once per dtype: each is one trace and one
    compilation (op by op, or one program per oracle, compiling is most of the time taken).

    `derivatives` (in the tested dtype): per point d/dx and d/dparams, value_and_grad's value,
    d2/dx2, and d/dx at the declared kinks.  `values` (float64): the function on the
    finite-difference stencil of x, its derivative there (for second order), and the function
    along each parameter's stencil (`xs`, `rows`: one point and one set of parameters a row).
    `oracle` (float64): the reference, its gradients and second derivative at x, and its
    values on the stencil.
    """
    in_axes = (0,) + (None,) * n
    argnums = tuple(range(1 + n))

    def scalar(xi, *p):
        return call(xi, *p)

    @jax.jit
    def derivatives(x, at, *ps):
        value, grads = jax.vmap(jax.value_and_grad(scalar, argnums=argnums), in_axes)(x, *ps)
        second = jax.vmap(jax.grad(jax.grad(scalar)), in_axes)(x, *ps) if order >= 2 else None
        return value, grads, second, jax.vmap(jax.grad(scalar), in_axes)(at, *ps)

    @jax.jit
    def values(z, xs, rows, *ps):
        first = jax.vmap(jax.grad(scalar), in_axes)(z, *ps) if order >= 2 else None
        along = None
        if n:
            along = jax.vmap(lambda xi, r: call(xi, *(r[k] for k in range(n))))(xs, rows)
        return call(z, *ps), first, along

    @jax.jit
    def oracle(x, z, *ps):
        def plain(xi, *p):
            return reference(xi, *p)

        grads = jax.vmap(jax.grad(plain, argnums=argnums), in_axes)(x, *ps)
        second = jax.vmap(jax.grad(jax.grad(plain)), in_axes)(x, *ps) if order >= 2 else None
        return reference(x, *ps), grads, reference(z, *ps), second

    return derivatives, values, oracle


def _check_elementwise(target: _Target, points: np.ndarray, dtype, order: int) -> list[Check]:
    checks: list[Check] = []
    dname = str(jnp.dtype(dtype))
    call = _call(target)
    pnames = list(target.params)
    count = len(pnames)
    derivatives, values, oracle = _programs(call, target.reference, count, order)
    mode = _x64() if dname == "float64" else jax.enable_x64(False)
    with mode:
        x = jnp.asarray(points, dtype=dtype)
        ps = tuple(jnp.asarray(v, dtype=dtype) for v in target.params.values())
        x_np = _np(x)
        p_np = [float(_np(p)) for p in ps]
        # Kinks move with the parameters: where they are for the values as rounded.
        kink_points = target.kinks(dict(zip(pnames, p_np)))
        declared = [(a, s) for a, s in kink_points if s is not None]
        exact = [(a, s) for a, s in declared if float(_np(jnp.asarray(a, dtype=dtype))) == a]
        # (with no kink to hit, the first point stands in, and its derivative is not read)
        at = jnp.asarray([a for a, _ in exact] or x_np[:1], dtype=dtype)
        y = call(x, *ps)
        from_vag, grads, d2, at_kinks = derivatives(x, at, *ps)
        dx, dps = grads[0], grads[1:]
        checks += _structure(target, call, x, ps, y, from_vag, dx, dps, dname)
        got = {"value": _np(y), "dx": _np(dx)}
        got_p = {n: _np(d) for n, d in zip(pnames, dps)}
        if d2 is not None:
            got["d2"] = _np(d2)
        at_kinks = _np(at_kinks)[: len(exact)]
        slopes = _np(jnp.asarray([s for _, s in exact] or [0.0], dtype=dtype))[: len(exact)]

    with _x64():
        x64 = jnp.asarray(x_np)
        p64 = tuple(jnp.asarray(p) for p in p_np)
        h = FD_STEP * np.maximum(np.abs(x_np), 1.0)
        lo, hi = target.domain
        # Near the edge of the domain (log1mexp at 0) the stencil stays well inside it.
        h = np.minimum(h, np.where(np.isfinite(lo), (x_np - lo) / 32, np.inf))
        h = np.minimum(h, np.where(np.isfinite(hi), (hi - x_np) / 32, np.inf))
        z = _stencil(x_np, h)
        # Along each parameter: x at each of the parameter's stencil values, the others fixed.
        hp = [FD_STEP * max(abs(p), 1.0) * np.ones_like(x_np) for p in p_np]
        p_stencils = [_stencil(np.full_like(x_np, p), s) for p, s in zip(p_np, hp)]
        rows = np.tile(np.asarray(p_np, dtype=np.float64), (count * z.size, 1))
        for i, s in enumerate(p_stencils):
            rows[i * z.size : (i + 1) * z.size, i] = s
        xs = np.tile(x_np, len(OFFSETS) * count)
        f_z, first_z, along = values(jnp.asarray(z), jnp.asarray(xs), jnp.asarray(rows), *p64)
        along = np.asarray(along).reshape(count, -1) if count else None
        # Finite differences of the function itself, in float64.
        fd, fd_err, rough, kink = _richardson(f_z, x_np, h)
        near_declared = _near(x_np, [a for a, _ in kink_points], 1.01 * h)
        undeclared = kink & ~near_declared
        skip = near_declared | rough
        in_trust = (x_np >= target.trusted[0]) & (x_np <= target.trusted[1])

        if target.reference is not None:
            ref_value, ref_grads, ref_z, ref2 = oracle(x64, jnp.asarray(z), *p64)
            ref_value = np.asarray(ref_value)
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
                ref_z, x_np, h, floor=np.maximum(np.abs(x_np), 1.0)
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
            pfd, pfd_err, prough, _ = _richardson(along[i], np.full_like(x_np, p_np[i]), hp[i])
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
            fd2, fd2_err, rough2, _ = _richardson(first_z, x_np, h, ulps=TOL_GRAD)
            # Where f' itself has a kink (elu at 0, sparse_plus at +-1) f'' is undefined: skip.
            skip2 = skip | rough2
            if target.reference is not None:
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
            f64 = jax.jit(call)
            sides = _one_sided(lambda z: f64(jnp.asarray(z), *p64), at, h[undeclared])
            sides += (got["dx"][undeclared],)
        checks.append(
            _kink_check(kink_points, exact, at_kinks, slopes, dname, x_np, undeclared, sides)
        )
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


def _kink_check(kink_points, exact, got, expected, dname, x_np, undeclared, sides) -> Check:
    """Declared kinks give exactly the declared derivative; no undeclared kink was found.

    `exact` are the declared kinks whose location is a number of the dtype, `got` the backward
    rule's derivative there and `expected` the declared one, rounded to the dtype.  A kink
    whose location is not a number of the dtype (hard_sigmoid's -offset/slope with a float16
    slope) cannot be hit exactly, and is counted as skipped.  An undeclared one is reported
    with the one-sided derivatives measured there (`sides`: left, right, and the backward
    rule's value).
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
    at = np.asarray([a for a, _ in exact])
    wrong = ~((got == expected) | (np.isnan(got) & np.isnan(expected)))
    i = int(np.argmax(wrong)) if wrong.any() else 0
    return Check(
        "kinks",
        dname,
        not wrong.any(),
        max_abs=float(np.max(np.abs(got - expected))),
        worst_input=float(at[i]) if wrong.any() else None,
        got=float(got[i]) if wrong.any() else None,
        expected=float(expected[i]) if wrong.any() else None,
        points=len(exact),
        skipped=skipped,
        figure=f"the declared derivative is exact; {int(wrong.sum())} of {len(exact)} "
        "kink(s) differ"
        if wrong.any()
        else "",
        note="exact derivative at each declared kink",
    )


def _structure(target, call, x, ps, y, from_vag, dx, dps, dname) -> list[Check]:
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
            from_vag,
        )
    )

    @jax.jit
    def _vjp(g, x, ps):
        # One compiled backward pass, run for each cotangent.  The cotangent and x are
        # arguments: XLA would fold a zero cotangent away, and evaluate the forward pass on a
        # constant x while compiling, which does not round as the compiled code does.
        return jax.vjp(lambda z, *p: call(z, *p), x, *ps)[1](g)

    def vjp(g):
        return _vjp(g, x, ps)

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
