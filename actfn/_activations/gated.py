"""Gated linear units: split x in two halves a, b along an axis and return a * gate(b)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from actfn._numerics.elementary import times_gate
from actfn._numerics.gaussian import gelu_exact, gelu_exact_derivative
from actfn._numerics.logistic import sigmoid_pair, silu_derivative, silu_value
from actfn._wiring import GLOROT, along_axis, check_axis


def _check_halves(name, x, params, options, aux):
    axis = options["axis"]
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"`actfn.{name}` `axis` must be a single int, got {axis!r}.")
    (axis,) = check_axis(name, x, axis)
    if x.shape[axis] % 2:
        raise ValueError(
            f"`actfn.{name}` splits axis {axis} in two halves, but its size is "
            f"{x.shape[axis]}, which is odd. Give that axis an even size (the layer before "
            "should output twice the units)."
        )
    return {**options, "axis": axis}, aux


def _gated(name, gate, gate_derivative, gate_text, paper, use):
    """One gated unit: a * gate(b); its backward rule keeps x (both halves are needed)."""

    def forward(x, axis):
        a, b = jnp.split(x, 2, axis=axis)
        return times_gate(a, gate(b))

    def vjp(x, g, axis):
        a, b = jnp.split(x, 2, axis=axis)
        return jnp.concatenate([g * gate(b), g * a * gate_derivative(b)], axis=axis)

    def reference(x, axis=-1):
        a, b = jnp.split(x, 2, axis=axis)
        return a * gate(b)

    return along_axis(
        name=name,
        summary=f"Gated linear unit with a {gate_text} gate: a * {gate_text}(b), "
        "(a, b) the two halves of x along `axis`.",
        formula=f"a * {gate_text}(b)",
        derivative=f"df/da = {gate_text}(b); df/db = a * {gate_text}'(b)",
        output_range=(float("-inf"), float("inf")),
        forward=forward,
        vjp=vjp,
        reference=reference,
        saves="x",
        options=(("axis", -1),),
        check=_check_halves,
        trusted=(-30.0, 30.0),
        use=use,
        initializer=GLOROT,
        paper=paper,
        jax_nn="glu" if name == "glu" else None,
        example=(("axis", 0),),
        notes="The gate is applied to the second half, as in jax.nn.glu and PyTorch's glu; "
        "the output has half the size of x along `axis`.",
        args="    axis: the axis to split in two equal halves (its size must be even).\n",
    )


_SHAZEER = 'Shazeer, 2020, "GLU Variants Improve Transformer", https://arxiv.org/abs/2002.05202'


def _sigmoid_derivative(b):
    s, t = sigmoid_pair(b)
    return s * t


glu = _gated(
    "glu",
    jax.nn.sigmoid,
    _sigmoid_derivative,
    "sigmoid",
    'Dauphin et al., 2017, "Language Modeling with Gated Convolutional Networks", '
    "https://arxiv.org/abs/1612.08083",
    "gated convolutions and feed-forward blocks",
)
swiglu = _gated(
    "swiglu",
    silu_value,
    silu_derivative,
    "silu",
    _SHAZEER,
    "feed-forward blocks of transformers (LLaMA, PaLM)",
)
geglu = _gated(
    "geglu",
    gelu_exact,
    gelu_exact_derivative,
    "gelu",
    _SHAZEER,
    "feed-forward blocks of transformers (T5 v1.1, Gemma)",
)
reglu = _gated(
    "reglu",
    lambda b: jnp.maximum(b, 0.0),
    lambda b: jnp.where(b > 0, 1.0, 0.0),
    "relu",
    _SHAZEER,
    "feed-forward blocks of transformers",
)
