"""User-defined activations (`actfn.define`) and forward-mode twins (`actfn.forward_mode`)."""

from __future__ import annotations

import functools
import inspect
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
            of names.  Each may be a number or a learnable array.  Left out, they are read
            from `forward`'s signature: every argument after x, with its Python default
            (`def f(x, beta=1.0)`) or required.
        kinks: non-differentiable points, `{x: derivative chosen there}`, or a list of them.
        saves: "x" or "y", the one array the backward rule keeps ("y" when f' is a function of
            the output: less memory in training).
        reference: an optional plain formula `reference(x, *params)` for `actfn.verify`.
        output_range: the output range, for the docstring.

    Returns:
        The activation, called as `fn(x, *params)`.

    Raises:
        TypeError: when `forward` or `derivative` cannot be called with x and the parameters,
            or `derivative` does not return one value per input (checked here, on abstract
            values, not at the first gradient).
    """
    if saves not in ("x", "y"):
        raise ValueError(f'`actfn.define` `saves` must be "x" or "y", got {saves!r}.')
    if not callable(forward) or not callable(derivative):
        raise TypeError("`actfn.define` needs a callable `forward` and a callable `derivative`.")
    name = name or getattr(forward, "__name__", "activation")
    if not name.isidentifier():
        name = "activation"
    declared = _declared_params(forward, params, name)
    _check_arity(forward, derivative, declared, saves, name)

    def partials(saved, *values):
        slopes = derivative(saved, *values)
        return tuple(slopes) if isinstance(slopes, (tuple, list)) else (slopes,)

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


def _declared_params(forward: Callable, params, name: str) -> tuple[Param, ...]:
    """The parameters as declared, or read from `forward`'s signature (with its defaults)."""
    try:
        arguments = list(inspect.signature(forward).parameters.values())[1:]
    except (TypeError, ValueError):  # a builtin or a C function: no signature to read
        arguments = []
    defaults = {
        a.name: a.default
        for a in arguments
        if a.kind in (a.POSITIONAL_ONLY, a.POSITIONAL_OR_KEYWORD) and a.default is not a.empty
    }
    if isinstance(params, Mapping):
        return tuple(Param(k, float(v)) for k, v in params.items())
    names = list(params)
    if not names:
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        names = [a.name for a in arguments if a.kind in positional]
    declared = []
    for k in names:
        default = defaults.get(k, REQUIRED)
        if default is not REQUIRED and (
            isinstance(default, bool) or not isinstance(default, (int, float))
        ):
            raise TypeError(
                f"`actfn.define`: `{name}`'s argument `{k}` defaults to {default!r}, which is not "
                "a number, and parameters are continuous. Bind it with `functools.partial` or a "
                "closure before defining the activation."
            )
        declared.append(Param(k, REQUIRED if default is REQUIRED else float(default)))
    return tuple(declared)


def _check_arity(forward, derivative, declared, saves: str, name: str) -> None:
    """Call both functions on abstract scalars: a wrong signature or a derivative with too few
    outputs fails here, with the activation's name, not at the first gradient."""
    scalar = jax.ShapeDtypeStruct((), jnp.float32)
    names = [p.name for p in declared]
    for role, fn, first in (("forward", forward, "x"), ("derivative", derivative, saves)):
        try:
            out = jax.eval_shape(fn, scalar, *[scalar] * len(declared))
        except TypeError as err:
            raise TypeError(
                f"`actfn.define`: `{name}`'s {role} cannot be called as "
                f"{role}({', '.join([first, *names])}): {err}. Give it one argument for "
                f"{first} and one per parameter, in that order."
            ) from None
        if role == "derivative":
            slopes = out if isinstance(out, (tuple, list)) else (out,)
            if len(slopes) != 1 + len(declared):
                wanted = ", ".join(f"df/d{n}" for n in ["x", *names])
                raise TypeError(
                    f"`actfn.define`: `{name}`'s derivative returns {len(slopes)} value(s), but "
                    f"it has {len(declared)} parameter(s): return df/dx followed by one "
                    f"derivative per parameter, ({wanted})."
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
