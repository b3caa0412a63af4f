"""User-defined activations (`actfn.define`) and forward-mode twins (`actfn.forward_mode`)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
from jax.custom_derivatives import CustomVJPPrimal, SymbolicZero

from actfn._wiring import REQUIRED, TWINS, Kink, Param, elementwise


def define(
    forward: Callable,
    derivative: Callable,
    *,
    name: str | None = None,
    params: Mapping[str, float] | Sequence[str] = (),
    kinks: Mapping[float, float] | Sequence[float] | None = None,
    saves: str = "x",
    reference: Callable | None = None,
    output_range: tuple[float, float] = (-math.inf, math.inf),
) -> Callable:
    """Turn a forward function and its hand-written derivative into an actfn activation.

    The result is jit-compiled, differentiates through a `jax.custom_vjp` built from
    `derivative`, follows actfn's dtype policy (float16/bfloat16 computed in float32 and
    rounded once; integers promoted), has a forward-mode twin (`actfn.forward_mode`), and is
    checked by `actfn.verify` with `reference` and `kinks` used automatically.

        swish = actfn.define(
            lambda x, beta: x * jax.nn.sigmoid(beta * x),
            lambda x, beta: (s := jax.nn.sigmoid(beta * x)) + beta * x * s * (1 - s),
            ...)

    Args:
        forward: `forward(x, *params) -> y`, elementwise, in plain `jnp`.
        derivative: `derivative(saved, *params)` returning df/dx, or, with parameters, the tuple
            (df/dx, df/dparam1, ...), all elementwise; `saved` is x or y as `saves` says.
        name: the activation's name (default: `forward.__name__`).
        params: the continuous parameters, in order: `{"beta": 1.0}` with defaults, or a list
            of names without defaults.  Each may be a number or a learnable array.
        kinks: non-differentiable points, `{x: derivative chosen there}`, or a list of them.
        saves: "x" or "y", the one array the backward rule keeps ("y" when f' is a function of
            the output: less memory in training).
        reference: an optional plain formula `reference(x, *params)` for `actfn.verify`.
        output_range: the output range, for the docstring.

    Returns:
        The activation, called as `fn(x, *params)`.
    """
    if saves not in ("x", "y"):
        raise ValueError(f'`actfn.define` `saves` must be "x" or "y", got {saves!r}.')
    if not callable(forward) or not callable(derivative):
        raise TypeError("`actfn.define` needs a callable `forward` and a callable `derivative`.")
    name = name or getattr(forward, "__name__", "activation")
    if not name.isidentifier():
        name = "activation"
    if isinstance(params, Mapping):
        declared = tuple(Param(k, float(v)) for k, v in params.items())
    else:
        declared = tuple(Param(k, REQUIRED) for k in params)
    count = len(declared)

    def partials(saved, *values):
        slopes = derivative(saved, *values)
        slopes = slopes if isinstance(slopes, tuple) else (slopes,)
        if len(slopes) != 1 + count:
            raise TypeError(
                f"`{name}`'s derivative returned {len(slopes)} value(s); it must return df/dx "
                f"followed by one derivative per parameter ({1 + count} in all)."
            )
        return slopes

    if isinstance(kinks, Mapping):
        kink_list = tuple(
            Kink(lambda p, a=float(a): a, lambda p, s=float(s): s, f"x = {a}: f' = {s}")
            for a, s in kinks.items()
        )
    else:
        kink_list = tuple(
            Kink(lambda p, a=float(a): a, lambda p: None, f"x = {a}") for a in (kinks or ())
        )
    return elementwise(
        name=name,
        summary=f"User-defined activation `{name}`.",
        formula="user-defined",
        derivative="user-defined",
        output_range=output_range,
        forward=forward,
        partials=partials,
        reference=reference,
        saves=saves,
        params=declared,
        kinks=kink_list,
        trusted=(-math.inf, math.inf),
        use="user-defined",
        initializer="glorot_uniform",
        paper="user-defined",
        registered=False,
    )


def forward_mode(fn: Callable) -> Callable:
    """The forward-mode twin of an activation: a `jax.custom_jvp` built from the same derivative.

    A `custom_vjp` function cannot go through `jax.jvp` or `jax.jacfwd` (JAX raises); the twin
    can, and through `jax.hessian` and forward-over-forward too.  Its tangent is the transpose
    of the hand-written backward rule, so both forms share one derivative.  Accepts actfn's
    activations (or a `functools.partial` of one), `actfn.define` results, and hand-written
    `jax.custom_vjp` functions without `nondiff_argnums`.

    Args:
        fn: the activation (or a `functools.partial` of one binding its parameters).

    Returns:
        A function of the same signature whose derivatives JAX takes in forward mode.
    """
    if isinstance(fn, functools.partial):
        return functools.partial(forward_mode(fn.func), *fn.args, **fn.keywords)
    if fn in TWINS:
        return TWINS[fn]
    if isinstance(fn, jax.custom_vjp):
        if fn.nondiff_argnums:
            raise TypeError(
                "`actfn.forward_mode` cannot transpose a `jax.custom_vjp` with "
                "`nondiff_argnums`. Close over those arguments instead, or use `actfn.define`."
            )
        return _custom_vjp_twin(fn)
    raise TypeError(
        f"`actfn.forward_mode` got {fn!r}, which is not an actfn activation, an `actfn.define` "
        "result or a `jax.custom_vjp` function. Wrap your function with `actfn.define` first."
    )


def _custom_vjp_twin(fn: jax.custom_vjp) -> Callable:
    # A rule defined with `symbolic_zeros=True` takes CustomVJPPrimal(value, perturbed), and a
    # backward rule may return None (or a SymbolicZero) for an input's zero cotangent.
    symbolic = getattr(fn, "symbolic_zeros", False)

    @jax.custom_jvp
    def twin(*args):
        return fn.fun(*args)

    def jvp(primals, tangents):
        moving = [not isinstance(t, SymbolicZero) for t in tangents]
        y, residuals = fn.fwd(*(map(CustomVJPPrimal, primals, moving) if symbolic else primals))

        def pullback(g):
            return tuple(
                jnp.zeros_like(p) if c is None or isinstance(c, SymbolicZero) else c
                for c, p, m in zip(fn.bwd(residuals, g), primals, moving)
                if m
            )

        dots = tuple(t for t, m in zip(tangents, moving) if m)
        if not dots:
            return y, jax.tree.map(jnp.zeros_like, y)
        (dot_y,) = jax.linear_transpose(pullback, y)(dots)
        return y, dot_y

    twin.defjvp(jvp, symbolic_zeros=symbolic)
    functools.update_wrapper(twin, fn.fun)
    return twin
