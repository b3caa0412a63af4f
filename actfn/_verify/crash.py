"""What `actfn.verify` reports when the function under test raises: a failed check, with the
cotangent that does not match its input named where the backward rule is at fault."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np

from actfn._verify.report import Check
from actfn._verify.target import _binds, _Target


def crashed(target: _Target, dtype, err: Exception) -> Check:
    figure = _cotangent_mismatch(target, dtype)
    if figure is None:
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        figure = f"calling it raised {type(err).__name__}: {text}"
    return Check(
        "runs",
        str(jnp.dtype(dtype)),
        False,
        figure=figure,
        note="the other checks of this dtype did not run",
    )


def _cotangent_mismatch(target: _Target, dtype) -> str | None:
    """For a hand-written `jax.custom_vjp`: the first input whose cotangent from the backward
    rule has another shape or dtype than the input, in one sentence; None if there is none
    (or the rule cannot be run on its own)."""
    raw = target.raw
    if not isinstance(raw, jax.custom_vjp) or raw.nondiff_argnums:
        return None
    if getattr(raw, "symbolic_zeros", False):
        return None
    try:
        signature = inspect.signature(raw.fun)
        with jax.enable_x64(jnp.dtype(dtype) == jnp.float64):
            shape = (7,) if target.elementwise else (4, 6)
            x = jnp.asarray(np.linspace(-2.0, 2.0, int(np.prod(shape))).reshape(shape), dtype)
            values = {n: jnp.asarray(v, dtype) for n, v in target.params.items()}
            if _binds(signature, (x,), {**values, **target.static}):
                bound = signature.bind(x, **values, **target.static)
            else:
                bound = signature.bind(x, *values.values(), **target.static)
            bound.apply_defaults()
            args = bound.args
            y, residuals = raw.fwd(*args)
            cotangents = raw.bwd(residuals, jnp.ones_like(y))
    except Exception:  # noqa: BLE001 - no diagnosis; the exception itself is reported
        return None
    names = list(signature.parameters)
    if len(cotangents) != len(args):
        return (
            f"the backward rule returns {len(cotangents)} cotangent(s) for {len(args)} input(s) "
            f"({', '.join(names[: len(args)])}): return one per input, in order"
        )
    for name, arg, cotangent in zip(names, args, cotangents):
        if cotangent is None:
            continue
        want, got = jnp.asarray(arg), jnp.asarray(cotangent)
        if want.shape != got.shape:
            return (
                f"the backward rule returns a cotangent of shape {got.shape} for `{name}`, "
                f"whose shape is {want.shape}: sum it over the axes `{name}` was broadcast "
                "along (a cotangent has its input's shape)"
            )
    return None
