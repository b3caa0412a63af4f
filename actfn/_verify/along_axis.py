"""The checks of an activation along an axis (softmax, glu, ...): vector-Jacobian products
against both oracles, second order and structure."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from actfn._verify.oracles import OFFSETS, _call, _compare, _extrapolate, _np, _x64
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

        y = call(x)
        g = jnp.asarray(rng.normal(size=y.shape), dtype=dtype)
        v = jnp.asarray(rng.normal(size=shape), dtype=dtype)

        @jax.jit
        def derivatives(x, g):
            # One compiled program, run for each cotangent: vjp's value and J^T g.  Both are
            # arguments: XLA would fold a zero cotangent away, and evaluate the forward pass
            # on a constant x while compiling, which does not round as the compiled code does.
            inside, pullback = jax.vjp(call, x)
            return inside, pullback(g)[0]

        inside, dx = derivatives(x, g)
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
        same = inside.dtype == y.dtype and np.array_equal(_np(inside), _np(y))
        checks.append(
            Check(
                "value_and_grad value equals the call",
                dname,
                bool(same),
                figure=""
                if same
                else "the value inside value_and_grad or vjp differs from "
                f"the call by up to {float(np.max(np.abs(_np(inside) - _np(y)))):.3g}; "
                "the custom_vjp forward rule returns another value",
            )
        )
        zero = _np(derivatives(x, jnp.zeros_like(y))[1])
        nonzero = int(np.sum(zero != 0))
        checks.append(
            Check(
                "zero cotangent gives zero",
                dname,
                not nonzero,
                figure=""
                if not nonzero
                else f"{nonzero} of {zero.size} cotangents are nonzero "
                f"(up to {float(np.max(np.abs(zero))):.3g}) for a zero cotangent; the "
                "backward rule ignores the cotangent",
            )
        )
        dx_np = _np(dx)
        again = _np(derivatives(x, g)[1])
        differ = int(np.sum(~((dx_np == again) | (np.isnan(dx_np) & np.isnan(again)))))
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
            # The second order along v: v^T H (J^T g).
            second = jax.jit(
                jax.grad(lambda z: jnp.vdot(v, jax.grad(lambda w: jnp.vdot(g, call(w)))(z)))
            )(x)
        p_used = [float(_np(p)) for p in ps]
        x_used = _np(x)
        g_used = _np(g)
        y_np = _np(y)
        second_np = None if second is None else _np(second)
        v_np = _np(v)
    with _x64():
        x64 = jnp.asarray(x_used)
        g64 = jnp.asarray(g_used)
        v64 = jnp.asarray(v_np)
        p64 = tuple(jnp.asarray(p) for p in p_used)
        reference = target.reference

        @jax.jit
        def oracles(rows):
            # <g, f> at each row (x with one coordinate moved), and the reference's value,
            # J^T g and second order at x: one compiled program.
            along = jax.vmap(lambda r: jnp.vdot(g64, with_params(r.reshape(shape), *p64)))(rows)
            if reference is None:
                return along, None, None, None

            def ref(z):
                return reference(z, *p64)

            second = None
            if order >= 2:
                second = jax.grad(
                    lambda z: jnp.vdot(v64, jax.grad(lambda w: jnp.vdot(g64, ref(w)))(z))
                )(x64)
            return along, ref(x64), jax.vjp(ref, x64)[1](g64)[0], second

        # Finite differences of <g, f(x)> along each input coordinate: the whole J^T g.
        flat = x_used.reshape(-1)
        h = FD_STEP * np.maximum(np.abs(flat), 1.0)
        n = flat.size
        # One perturbation of coordinate k per row, for each offset of the stencil.
        rows = np.concatenate([np.tile(flat, (n, 1)) + np.diag(o * h) for o in OFFSETS])
        along, ref_y, ref_dx, ref2 = oracles(jnp.asarray(rows))
        vals = np.asarray(along).reshape(len(OFFSETS), n)
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
            ref_y = np.asarray(ref_y)
            ref_dx = np.asarray(ref_dx)
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
                ref2 = np.asarray(ref2)
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
