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
    with_params = _call(target)
    rng = np.random.default_rng(0)
    shape = (4, 6)
    x_np = rng.normal(scale=2.0, size=shape)
    checks: list[Check] = []
    mode = _x64() if dname == "float64" else jax.enable_x64(False)
    with mode:
        x = jnp.asarray(x_np, dtype=dtype)
        # Continuous parameters at their tested values (their own gradients are not checked
        # along an axis).
        ps = tuple(jnp.asarray(v, dtype=dtype) for v in target.params.values())

        def call(z):
            return with_params(z, *ps)

        y = jax.jit(call)(x)

        @jax.jit
        def vjp(g):
            return jax.vjp(call, x)[1](g)

        g = jnp.asarray(rng.normal(size=y.shape), dtype=dtype)
        (dx,) = vjp(g)
        ok = y.dtype == x.dtype and dx.dtype == x.dtype and dx.shape == x.shape
        checks.append(
            Check(
                "dtype and shape",
                dname,
                bool(ok),
                figure=""
                if ok
                else f"input {x.dtype}{x.shape}: value {y.dtype}{y.shape}, "
                f"gradient {dx.dtype}{dx.shape}",
            )
        )
        (_, inside), _ = jax.jit(
            jax.value_and_grad(lambda z: (jnp.vdot(g, call(z)), call(z)), has_aux=True)
        )(x)
        plain = call(x)
        same = (
            inside.dtype == plain.dtype
            and bool(jnp.array_equal(inside, plain))
            and bool(jnp.array_equal(y, plain))
        )
        checks.append(
            Check(
                "value_and_grad value equals the call",
                dname,
                same,
                figure=""
                if same
                else "the value inside value_and_grad or vjp differs from "
                f"the call by up to {float(jnp.max(jnp.abs(_np(inside) - _np(plain)))):.3g}; "
                "the custom_vjp forward rule returns another value",
            )
        )
        (zero,) = vjp(jnp.zeros_like(y))
        nonzero = int(jnp.sum(zero != 0))
        checks.append(
            Check(
                "zero cotangent gives zero",
                dname,
                not nonzero,
                figure=""
                if not nonzero
                else f"{nonzero} of {zero.size} cotangents are nonzero "
                f"(up to {float(jnp.max(jnp.abs(_np(zero)))):.3g}) for a zero cotangent; the "
                "backward rule ignores the cotangent",
            )
        )
        (again,) = vjp(g)
        differ = int(jnp.sum(~((dx == again) | (jnp.isnan(dx) & jnp.isnan(again)))))
        checks.append(
            Check(
                "deterministic",
                dname,
                not differ,
                figure="" if not differ else f"two backward passes differ at {differ} point(s)",
            )
        )
        second = None
        if order >= 2:
            v = jnp.asarray(rng.normal(size=shape), dtype=dtype)
            second = jax.jit(
                jax.grad(lambda z: jnp.vdot(v, jax.grad(lambda w: jnp.vdot(g, call(w)))(z)))
            )(x)
        p_used = [float(_np(p)) for p in ps]
        x_used = _np(x)
        g_used = _np(g)
        dx_np = _np(dx)
        y_np = _np(y)
        second_np = None if second is None else _np(second)
        v_np = None if second is None else _np(v)
    with _x64():
        x64 = jnp.asarray(x_used)
        g64 = jnp.asarray(g_used)
        p64 = tuple(jnp.asarray(p) for p in p_used)
        f64 = jax.jit(lambda z: with_params(z, *p64))
        # Finite differences of <g, f(x)> along each input coordinate: the whole J^T g.
        flat = x_used.reshape(-1)
        h = FD_STEP * np.maximum(np.abs(flat), 1.0)
        n = flat.size

        def directional(z):
            zs = np.asarray(z).reshape(-1, n)  # one perturbation of coordinate k per row
            return np.asarray(
                jax.jit(jax.vmap(lambda r: jnp.vdot(g64, f64(r.reshape(shape)))))(jnp.asarray(zs))
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
            ref = jax.jit(lambda z: target.reference(z, *p64))
            ref_y = np.asarray(ref(x64))
            ref_dx = np.asarray(jax.jit(lambda z, c: jax.vjp(ref, z)[1](c)[0])(x64, g64))
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
                    jax.jit(
                        jax.grad(
                            lambda z: jnp.vdot(v64, jax.grad(lambda w: jnp.vdot(g64, ref(w)))(z))
                        )
                    )(x64)
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
