"""Normalisers: activations that mix the elements along an axis (softmax and its relatives)."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from actfn._wiring import GLOROT, along_axis, check_axis


def _warn_if_constant(name, x, axes) -> None:
    """A normalisation over axes of size 1 is a constant (softmax's 1): say so, as Keras does
    (`Dense(1, activation=softmax)` is a common mistake for a binary output)."""
    if x.size and all(x.shape[a] == 1 for a in axes):
        warnings.warn(
            f"`actfn.{name}` normalises over axis {axes if len(axes) > 1 else axes[0]} of an "
            f"input of shape {x.shape}, which has size 1: the output does not depend on the "
            "input. For one binary output use `actfn.sigmoid`; otherwise pass the `axis` "
            "that holds the classes.",
            stacklevel=4,
        )


def _check_where(name, x, params, options, aux):
    """Normalise `axis` and check that the `where` mask broadcasts to x."""
    options = {**options, "axis": check_axis(name, x, options["axis"])}
    _warn_if_constant(name, x, options["axis"])
    where = aux.get("where")
    if where is not None:
        shape = jnp.shape(where)
        try:
            ok = jnp.broadcast_shapes(shape, x.shape) == x.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"`actfn.{name}` `where` has shape {shape}, which does not broadcast to the "
                f"input's shape {x.shape}. Pass a boolean mask that broadcasts to the input."
            )
        where = jnp.asarray(where, dtype=bool)
    return options, {**aux, "where": where}


def _shifted(x, where, axis):
    """x - max(x) along axis, with masked entries at -inf; +inf entries become 0."""
    masked = x if where is None else jnp.where(where, x, -jnp.inf)
    # Softmax is invariant under the shift, so the max carries no gradient.  The initial -inf
    # gives an empty axis a max (and an empty output), as jax.nn.softmax.
    m = jax.lax.stop_gradient(jnp.max(masked, axis=axis, keepdims=True, initial=-jnp.inf))
    # An entry equal to an infinite max would give inf - inf = NaN; its limit is the 0 shift.
    return jnp.where(jnp.isinf(m) & (masked == m), 0.0, masked - m)


def _exp_sum(x, where, axis):
    e = jnp.exp(_shifted(x, where, axis))
    if where is not None:
        e = jnp.where(where, e, 0.0)
    return e, jnp.sum(e, axis=axis, keepdims=True)


def _softmax_forward(x, where, axis):
    e, s = _exp_sum(x, where, axis)
    # A fully masked row has s = 0; it gives all zeros, not 0/0.
    return e / jnp.where(s == 0, 1.0, s)


def _softmax_vjp(y, g, where, axis):
    # Keeps y: J^T g = y * (g - <g, y>); masked entries have y = 0 and get 0.
    return y * (g - jnp.sum(g * y, axis=axis, keepdims=True))


_SOFTMAX_ARGS = (
    "    axis: the axis or tuple of axes to normalise over.\n"
    "    where: optional boolean mask broadcastable to x; False entries are left out (output 0 "
    "and gradient 0).  A fully masked row gives all zeros.\n"
)

softmax = along_axis(
    name="softmax",
    summary="Softmax along an axis: exponentials normalised to sum to 1.",
    formula="exp(x_i) / sum_j exp(x_j)",
    derivative="J = diag(y) - y y^T, so J^T g = y * (g - sum(g * y))",
    output_range=(0.0, 1.0),
    forward=_softmax_forward,
    vjp=_softmax_vjp,
    reference=lambda x, axis=-1: jnp.exp(x) / jnp.sum(jnp.exp(x), axis=axis, keepdims=True),
    saves="y",
    options=(("axis", -1),),
    aux=("where",),
    check=_check_where,
    trusted=(-30.0, 30.0),
    use="output layer of multi-class classification (with cross-entropy); attention weights",
    initializer=GLOROT,
    paper='Bridle, 1990, "Probabilistic Interpretation of Feedforward Classification Network '
    'Outputs, with Relationships to Statistical Pattern Recognition", '
    "https://doi.org/10.1007/978-3-642-76153-9_28",
    jax_nn="softmax",
    example=(("axis", 0),),
    notes="Computed as exp(x - max x) / sum.  +inf entries share the mass equally; NaN in a "
    "row gives NaN in that row.",
    args=_SOFTMAX_ARGS,
)


def _log_softmax_forward(x, where, axis):
    shifted = _shifted(x, where, axis)
    e = jnp.exp(shifted)
    if where is not None:
        e = jnp.where(where, e, 0.0)
    s = jnp.sum(e, axis=axis, keepdims=True)
    # A fully masked row has s = 0; log(1) keeps it from NaN, and the mask makes it -inf.
    y = shifted - jnp.log(jnp.where(s == 0, 1.0, s))
    return y if where is None else jnp.where(where, y, -jnp.inf)


def _log_softmax_vjp(y, g, where, axis):
    # Keeps y: J^T g = g - exp(y) * sum(g) over the unmasked entries.
    if where is not None:
        g = jnp.where(where, g, 0.0)
    dx = g - jnp.exp(y) * jnp.sum(g, axis=axis, keepdims=True)
    return dx if where is None else jnp.where(where, dx, 0.0)


log_softmax = along_axis(
    name="log_softmax",
    summary="Log of the softmax along an axis.",
    formula="x_i - log(sum_j exp(x_j))",
    derivative="J = I - 1 softmax(x)^T, so J^T g = g - softmax(x) * sum(g)",
    output_range=(float("-inf"), 0.0),
    forward=_log_softmax_forward,
    vjp=_log_softmax_vjp,
    reference=lambda x, axis=-1: x - jnp.log(jnp.sum(jnp.exp(x), axis=axis, keepdims=True)),
    saves="y",
    options=(("axis", -1),),
    aux=("where",),
    check=_check_where,
    aliases=("logsoftmax",),
    trusted=(-30.0, 30.0),
    use="log-probabilities of multi-class outputs (stable cross-entropy)",
    initializer=GLOROT,
    paper='Bridle, 1990, "Probabilistic Interpretation of Feedforward Classification Network '
    'Outputs, with Relationships to Statistical Pattern Recognition", '
    "https://doi.org/10.1007/978-3-642-76153-9_28",
    jax_nn="log_softmax",
    example=(("axis", 0),),
    notes="Masked entries give -inf and gradient 0; a fully masked row gives all -inf.",
    args=_SOFTMAX_ARGS.replace("(output 0", "(output -inf").replace("all zeros", "all -inf"),
)

softmin = along_axis(
    name="softmin",
    summary="Softmin along an axis: softmax of -x.",
    formula="exp(-x_i) / sum_j exp(-x_j)",
    derivative="J^T g = -y * (g - sum(g * y))",
    output_range=(0.0, 1.0),
    forward=lambda x, where, axis: _softmax_forward(-x, where, axis),
    # Keeps y: the softmax vjp, negated by the chain rule through -x.
    vjp=lambda y, g, where, axis: -_softmax_vjp(y, g, where, axis),
    reference=lambda x, axis=-1: jnp.exp(-x) / jnp.sum(jnp.exp(-x), axis=axis, keepdims=True),
    saves="y",
    options=(("axis", -1),),
    aux=("where",),
    check=_check_where,
    trusted=(-30.0, 30.0),
    use="weights that favour small values (soft nearest neighbour, soft minimum)",
    initializer=GLOROT,
    paper='Paszke et al., 2019, "PyTorch: An Imperative Style, High-Performance Deep '
    'Learning Library" (torch.nn.Softmin), https://arxiv.org/abs/1912.01703',
    example=(("axis", 0),),
    args=_SOFTMAX_ARGS,
)


def _single_axis(name, x, params, options, aux):
    axis = options["axis"]
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"`actfn.{name}` `axis` must be a single int, got {axis!r}.")
    (axis,) = check_axis(name, x, axis)
    _warn_if_constant(name, x, (axis,))
    return {**options, "axis": axis}, aux


def _gathered_along(x, axis):
    """x with `axis` whole on every device, and the spec to give the result back: sorting needs
    the whole axis, and under JAX's explicit sharding a sort along a sharded axis is an error.
    (On Auto axes and without a mesh, XLA's partitioner does this itself.)"""
    spec = tuple(jax.typeof(x).sharding.spec)
    if axis >= len(spec) or spec[axis] is None:
        return x, None
    whole = jax.sharding.PartitionSpec(*(None if i == axis else s for i, s in enumerate(spec)))
    return jax.sharding.reshard(x, whole), jax.sharding.PartitionSpec(*spec)


def _sparsemax_forward(x, axis):
    x, spec = _gathered_along(x, axis)
    y = _sparsemax_sorted(x, axis)
    return y if spec is None else jax.sharding.reshard(y, spec)


def _sparsemax_sorted(x, axis):
    z = jnp.moveaxis(x, axis, -1)
    n = z.shape[-1]
    zs = jnp.flip(jnp.sort(z, axis=-1), axis=-1)
    cumulative = jnp.cumsum(zs, axis=-1)
    k = jnp.arange(1, n + 1, dtype=z.dtype)
    # The support is the largest k with 1 + k z_(k) > sum_{j<=k} z_(j) (Martins et al., alg. 1).
    size = jnp.sum(1.0 + k * zs > cumulative, axis=-1, keepdims=True).astype(jnp.int32)
    size = jnp.maximum(size, 1)
    tau = (jnp.take_along_axis(cumulative, size - 1, axis=-1) - 1.0) / size.astype(z.dtype)
    return jnp.moveaxis(jnp.maximum(z - tau, 0.0), -1, axis)


def _sparsemax_vjp(y, g, axis):
    # Keeps y: on the support S = {y > 0}, J^T g = g - mean_S(g); 0 off the support.
    support = y > 0
    count = jnp.sum(support, axis=axis, keepdims=True).astype(g.dtype)
    mean = jnp.sum(jnp.where(support, g, 0.0), axis=axis, keepdims=True) / count
    return jnp.where(jnp.isnan(y), jnp.nan, jnp.where(support, g - mean, 0.0))


def _sparsemax_reference(x, axis=-1):
    """The projection onto the simplex, plainly: bisection for the support, then tau in closed
    form over that support (so that its gradient is the textbook one).  For tests only."""

    def halve(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        over = jnp.sum(jnp.maximum(x - mid, 0.0), axis=axis, keepdims=True) > 1.0
        return jnp.where(over, mid, lo), jnp.where(over, hi, mid)

    top = jax.lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
    lo, hi = jax.lax.fori_loop(0, 200, halve, (top - 1.0, top))
    support = x > 0.5 * (lo + hi)
    count = jnp.sum(support, axis=axis, keepdims=True).astype(x.dtype)
    tau = (jnp.sum(jnp.where(support, x, 0.0), axis=axis, keepdims=True) - 1.0) / count
    return jnp.maximum(x - tau, 0.0)


sparsemax = along_axis(
    name="sparsemax",
    summary="Sparsemax along an axis: the Euclidean projection onto the probability simplex.",
    formula="max(x_i - tau, 0), tau such that the outputs sum to 1",
    derivative="J^T g = g - mean of g over the support, on the support; 0 elsewhere",
    output_range=(0.0, 1.0),
    forward=lambda x, axis: _sparsemax_forward(x, axis),
    vjp=lambda y, g, axis: _sparsemax_vjp(y, g, axis),
    reference=_sparsemax_reference,
    saves="y",
    options=(("axis", -1),),
    check=_single_axis,
    trusted=(-30.0, 30.0),
    use="sparse attention and sparse multi-class outputs",
    initializer=GLOROT,
    paper='Martins and Astudillo, 2016, "From Softmax to Sparsemax: A Sparse Model of '
    'Attention and Multi-Label Classification", https://arxiv.org/abs/1602.02068',
    example=(("axis", 0),),
    notes="Piecewise linear: not differentiable where the support changes (a set of measure "
    "zero); there the backward rule uses the support {y > 0}, the smaller one.",
    args="    axis: the axis to normalise over (a single int).\n",
)
