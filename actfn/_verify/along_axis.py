"""The checks of an activation along an axis (softmax, glu, ...): vector-Jacobian products
against both oracles, second order and structure."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from actfn._verify.oracles import _call, _compare, _extrapolate, _np, _x64
from actfn._verify.report import FD_STEP, TOL_GRAD, TOL_SECOND, TOL_VALUE, Check
from actfn._verify.target import _Target


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
