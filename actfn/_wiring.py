"""The JAX wiring shared by every activation: custom_vjp, jit, dtype policy, parameters.

An activation is *defined* once (see the family modules) as a forward pass, the one array its
backward rule keeps (`saves`), and a backward rule.  `elementwise` and `along_axis` turn such a
definition into the public function: a Python front that checks and normalises its arguments,
in front of one `jax.jit`-compiled `jax.custom_vjp` call.  Nothing else in the package writes
`custom_vjp` boilerplate.

Dtype policy (one for every activation):
  * float16, bfloat16, float32 and float64 inputs give outputs and input gradients of the same
    dtype; float16 and bfloat16 are computed in float32 and rounded once.
  * integer and boolean inputs are promoted to JAX's default float dtype, as `jnp.tanh` does.
  * continuous parameters are computed in the input's compute dtype; their gradients are summed
    down to the parameter's own shape and returned in the parameter's dtype.
  * complex numbers, strings, `None` and objects that are not arrays raise `TypeError`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.ad_checkpoint import checkpoint_name
from jax.custom_derivatives import SymbolicZero

from actfn._numerics.policy import LOW_PRECISION, tracing_for

REQUIRED = inspect.Parameter.empty
# The name of the one array every backward rule keeps (`jax.ad_checkpoint.checkpoint_name`).
RESIDUAL_NAME = "actfn_residual"


ACCEPTED_DTYPES = "float16, bfloat16, float32, float64 (integers and booleans are promoted)"


HE = "he_normal"
GLOROT = "glorot_uniform"
POSITIVE = {"valid": lambda v: v > 0, "valid_text": "> 0"}
NON_NEGATIVE = {"valid": lambda v: v >= 0, "valid_text": ">= 0"}


@dataclasses.dataclass(frozen=True)
class Param:
    """A continuous, differentiable parameter of an activation.

    `valid` is checked whenever the value is concrete (a number or a concrete array); `valid_text`
    says the valid range in error messages.  `none` is the value a `None` argument stands for
    (`relu`'s `max_value=None` means no cap, that is +inf).
    """

    name: str
    default: Any = REQUIRED
    valid: Callable[[np.ndarray], Any] | None = None
    valid_text: str = ""
    none: float | None = None


@dataclasses.dataclass(frozen=True)
class Kink:
    """A point where the activation is not differentiable, and the derivative chosen there.

    `at(p)` and `slope(p)` take the parameters as a dict of floats and return the location and
    the derivative `f'` that the backward rule returns there (the one-sided derivative of smaller
    magnitude).  `text` is the README's description of both.
    """

    at: Callable[[dict], float]
    slope: Callable[[dict], float]
    text: str


@dataclasses.dataclass(frozen=True)
class Spec:
    """Everything known about one activation: the record `actfn.spec(name)` returns."""

    name: str
    function: Callable = dataclasses.field(repr=False)
    formula: str
    derivative: str
    output_range: tuple[float, float]
    use: str
    initializer: str
    paper: str
    aliases: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    options: tuple[tuple[str, Any], ...] = ()
    saves: str | None = "x"
    elementwise: bool = True
    kinks: tuple[Kink, ...] = ()
    # The plain textbook formula, for tests and notebooks; never exported.
    reference: Callable | None = dataclasses.field(default=None, repr=False)
    # Where the textbook reference is trustworthy in float64 (it may overflow or cancel outside).
    trusted: tuple[float, float] = (-30.0, 30.0)
    # Where the function is defined at all (log1mexp needs x > 0).
    domain: tuple[float, float] = (-math.inf, math.inf)
    # The jax.nn function of the same meaning, and keyword arguments that make it so.
    jax_nn: str | None = None
    jax_nn_kwargs: tuple[tuple[str, Any], ...] = ()
    # Non-default parameters used by the config round-trip and verification.
    example: tuple[tuple[str, Any], ...] = ()
    notes: str = ""
    # Other libraries' spellings of parameters (Keras' `threshold` for `lambd`), accepted by
    # the call and by `actfn.get`.
    param_aliases: tuple[tuple[str, str], ...] = ()

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    @property
    def default_values(self) -> dict:
        """The defaults as numbers: a None default is the number it stands for (relu's
        `max_value=None`: inf), as the kinks' `at` and `slope` take them."""
        return {p.name: p.none if p.default is None else p.default for p in self.params}


def compute_dtype(dtype) -> jnp.dtype:
    """The dtype an activation computes in: float32 for the 16-bit floats, else the dtype."""
    dtype = jnp.dtype(dtype)
    return jnp.dtype(jnp.float32) if dtype in LOW_PRECISION else dtype


def as_input(x, name: str) -> jax.Array:
    """Apply the dtype policy to an activation's input, or raise a `TypeError` that says why."""
    if hasattr(x, "__jax_array__") and not isinstance(x, jax.Array):
        x = jnp.asarray(x)  # a framework's variable (a Keras `Variable`)
    if isinstance(x, jax.Array):
        dtype = x.dtype
    elif isinstance(x, (str, bytes)) or x is None:
        raise TypeError(
            f"`actfn.{name}` got {type(x).__name__} {x!r}, not an array. "
            f"Pass a number or an array of dtype {ACCEPTED_DTYPES}."
        )
    else:
        try:
            dtype = np.asarray(x).dtype
        except Exception as err:
            raise TypeError(
                f"`actfn.{name}` got a {type(x).__name__}, which is not an array. "
                f"Pass a number or an array of dtype {ACCEPTED_DTYPES}."
            ) from err
    if jnp.issubdtype(dtype, jnp.complexfloating) or not (
        jnp.issubdtype(dtype, jnp.floating)
        or jnp.issubdtype(dtype, jnp.integer)
        or jnp.issubdtype(dtype, jnp.bool_)
    ):
        raise TypeError(
            f"`actfn.{name}` does not accept inputs of dtype {dtype}. "
            f"Pass an array of dtype {ACCEPTED_DTYPES}; for complex data apply it to "
            "`jnp.real(x)` and `jnp.imag(x)` separately."
        )
    if jnp.issubdtype(dtype, jnp.floating):
        return jnp.asarray(x)
    # Integers and booleans: promoted to the default float dtype, as `jnp.tanh` does.
    return jnp.asarray(x).astype(jax.dtypes.canonicalize_dtype(float))


def _concrete(value) -> np.ndarray | None:
    """The value as a NumPy array if it is known at trace time, else None."""
    if isinstance(value, jax.core.Tracer):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except Exception:
        return None


def as_param(value, param: Param, name: str, x_shape: tuple) -> Any:
    """Check one continuous parameter and return it ready to pass to the compiled function."""
    if value is None and param.none is not None:
        value = param.none
    if hasattr(value, "__jax_array__") and not isinstance(value, jax.Array):
        # A framework's variable (a Keras `Variable`, inside or outside a training step).
        value = jnp.asarray(value)
    if isinstance(value, bool) or (
        not isinstance(value, (int, float, np.ndarray, np.generic, jax.Array))
    ):
        raise TypeError(
            f"`actfn.{name}` parameter `{param.name}` must be a real number or an array, "
            f"got {type(value).__name__} {value!r}."
        )
    concrete = _concrete(value)
    if concrete is not None and param.valid is not None and not np.all(param.valid(concrete)):
        raise ValueError(
            f"`actfn.{name}` parameter `{param.name}` must be {param.valid_text}, got {value!r}. "
            f"Pass a value {param.valid_text}."
        )
    if isinstance(value, (int, float)):
        return float(value)
    value = jnp.asarray(value)
    if jnp.issubdtype(value.dtype, jnp.complexfloating):
        raise TypeError(
            f"`actfn.{name}` parameter `{param.name}` must be real, got dtype {value.dtype}."
        )
    if not jnp.issubdtype(value.dtype, jnp.floating):
        value = value.astype(jax.dtypes.canonicalize_dtype(float))
    try:
        broadcast = jnp.broadcast_shapes(value.shape, x_shape)
    except ValueError:
        broadcast = None
    if broadcast != tuple(x_shape):
        raise ValueError(
            f"`actfn.{name}` parameter `{param.name}` has shape {value.shape}, which does not "
            f"broadcast to the input's shape {tuple(x_shape)}. Pass a scalar or an array that "
            "broadcasts to the input (per channel: shape (channels,) for channels-last input)."
        )
    return value


def sum_to_shape(ct: jax.Array, shape: tuple) -> jax.Array:
    """Sum a cotangent over the axes along which a parameter of `shape` was broadcast."""
    lead = ct.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and ct.shape[lead + i] != 1
    )
    return jnp.sum(ct, axis=axes).reshape(shape) if axes else ct.reshape(shape)


def _wire(
    name: str,
    forward: Callable,
    saves: str | None,
    backward: Callable,
    native: bool = False,
    backward_from_x: Callable | None = None,
) -> Callable:
    """Build the jit-compiled custom_vjp function shared by every activation.

    `forward(x, params, aux, **options)` computes y in the compute dtype (the input's own dtype
    when `native`: for work that is exact in any dtype, a max or a select).  `backward(saved,
    params, aux, g, **options)` returns the input cotangent and the unreduced parameter
    cotangents, where `saved` is x, y or None according to `saves`.  `aux` holds
    non-differentiable arrays (a `where` mask, a PRNG key).  `backward_from_x`, for an
    activation that keeps y, is the same rule taking x: it is used instead while a parameter is
    being differentiated, whose partial from y would be inaccurate (celu's df/dalpha).
    """

    def working(dtype):
        return jnp.dtype(dtype) if native else compute_dtype(dtype)

    def run_forward(options, x, params, aux):
        c = working(x.dtype)
        with tracing_for(x.dtype):
            y = forward(
                x.astype(c), tuple(jnp.asarray(p).astype(c) for p in params), aux, **dict(options)
            )
        return y.astype(x.dtype)

    def primal(options, x, params, aux):
        return run_forward(options, x, params, aux)

    def fwd(options, x, params, aux, moving=False):
        y = run_forward(options, x, params, aux)
        # The backward rule keeps one array, in the input's dtype (see each definition), under
        # its name.  While a parameter moves, `backward_from_x` may ask for x instead of y.
        keeps = "x" if moving and backward_from_x is not None else saves
        kept = {"x": x, "y": y, None: None}[keeps]
        if kept is not None:
            # One name for every activation's residual, for `jax.checkpoint` policies
            # (`save_only_these_names(RESIDUAL_NAME)`, offloading).
            kept = checkpoint_name(kept, RESIDUAL_NAME)
        return y, ({keeps: kept}, params, aux)

    def symbolic_fwd(options, x, params, aux):
        # `symbolic_zeros=True` wraps each primal in a CustomVJPPrimal that says whether it is
        # being differentiated; params are the only ones whose movement changes what is kept.
        moving = any(p.perturbed for p in jax.tree.leaves(params))
        x, params, aux = jax.tree.map(lambda p: p.value, (x, params, aux))
        return fwd(options, x, params, aux, moving)

    def bwd(options, residuals, g):
        kept, params, aux = residuals
        ((keeps, saved),) = kept.items()
        rule = backward if keeps == saves else backward_from_x
        if isinstance(g, SymbolicZero):
            g = jnp.zeros(g.shape, g.dtype)
        c = working(g.dtype)
        if saved is not None:
            # The barrier keeps XLA from merging the backward rule's work with the forward
            # pass's (the same erfc(x) in both, say): merged, the shared intermediate would be
            # kept alive from forward to backward, an extra array per layer in training.
            saved = jax.lax.optimization_barrier(saved).astype(c)
        with tracing_for(g.dtype):
            dx, *dparams = rule(
                saved,
                tuple(jnp.asarray(p).astype(c) for p in params),
                aux,
                g.astype(c),
                **dict(options),
            )
        dparams = tuple(
            sum_to_shape(jnp.broadcast_to(dp, g.shape), jnp.shape(p)).astype(jnp.result_type(p))
            for dp, p in zip(dparams, params)
        )
        # dx already has x's shape (g * partial, or a whole vjp); its dtype is x's, as g's.
        return dx.astype(g.dtype), dparams, None

    primal.__name__ = name
    fn = jax.custom_vjp(primal, nondiff_argnums=(0,))
    fn.defvjp(symbolic_fwd, bwd, symbolic_zeros=True)

    @functools.partial(jax.jit, static_argnames="options")
    def compiled(x, params, aux, options):
        return fn(options, x, params, aux)

    compiled.__name__ = name
    return compiled, forward_twin(name, run_forward, fwd, bwd)


def forward_twin(name: str, run_forward: Callable, fwd: Callable, bwd: Callable) -> Callable:
    """The same activation as a `jax.custom_jvp`, its tangent the transpose of the backward rule.

    The backward rule is linear in the cotangent, so `jax.linear_transpose` turns it into the
    Jacobian-vector product: one hand-written derivative serves both modes, and `jax.jvp`,
    `jax.jacfwd` and forward-over-forward work on the twin.
    """

    def primal(options, x, params, aux):
        return run_forward(options, x, params, aux)

    primal.__name__ = name
    twin = jax.custom_jvp(primal, nondiff_argnums=(0,))

    def jvp(options, primals, tangents):
        x, params, aux = primals
        dot_x, dot_params, _ = tangents
        # Only the perturbed inputs enter the tangent: a parameter held fixed contributes
        # nothing, not 0 times its partial (which is infinite for relu's slope at x = -inf).
        moving = [not isinstance(t, SymbolicZero) for t in (dot_x, *dot_params)]
        y, residuals = fwd(options, x, params, aux, any(moving[1:]))

        def pullback(g):
            dx, dparams, _ = bwd(options, residuals, g)
            return tuple(c for c, m in zip((dx, *dparams), moving) if m)

        dots = tuple(t for t, m in zip((dot_x, *dot_params), moving) if m)
        if not dots:
            return y, jnp.zeros_like(y)
        (dot_y,) = jax.linear_transpose(pullback, y)(dots)
        return y, dot_y

    twin.defjvp(jvp, symbolic_zeros=True)

    @functools.partial(jax.jit, static_argnames="options")
    def compiled(x, params, aux, options):
        return twin(options, x, params, aux)

    compiled.__name__ = name
    return compiled


def _front(
    spec_kwargs: dict,
    compiled: Callable,
    check: Callable | None,
    aliases: dict[str, str],
    aux_names: tuple[str, ...],
    at_defaults: Callable | None = None,
) -> Callable:
    """The public function: bind and check the arguments, then call the compiled function.

    `at_defaults`, when given, is a compiled function without parameters that serves calls
    leaving every parameter at its default (plain `relu(x)`).
    """
    name = spec_kwargs["name"]
    params: tuple[Param, ...] = spec_kwargs.get("params", ())
    options = spec_kwargs.get("options", ())
    signature = inspect.Signature(
        [inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default)
            for p in params
        ]
        + [
            inspect.Parameter(o, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
            for o, d in options
        ]
        + [
            inspect.Parameter(a, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
            for a in aux_names
        ]
    )

    def activation(*args, **kwargs):
        for old, new in aliases.items():
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(
                        f"`actfn.{name}` got both `{old}` and `{new}`; `{old}` is the older "
                        f"spelling of `{new}`. Pass only `{new}`."
                    )
                kwargs[new] = kwargs.pop(old)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"`actfn.{name}`: {err}. Its signature is {name}{signature}.") from None
        if _is_keras_tensor(bound.arguments["x"]):
            # Keras' functional API: the call becomes a `keras.layers.Activation` node.
            from actfn.keras import symbolic_call

            return symbolic_call(name, bound.arguments)
        if at_defaults is not None and not (set(bound.arguments) - {"x"}):
            return at_defaults(as_input(bound.arguments["x"], name), (), (), ())
        bound.apply_defaults()
        arguments = bound.arguments
        x = as_input(arguments["x"], name)
        values = tuple(as_param(arguments[p.name], p, name, x.shape) for p in params)
        opts = tuple((o, arguments[o]) for o, _ in options)
        aux = tuple(arguments[a] for a in aux_names)
        if check is not None:
            # A definition's own checks (axis range, where-mask shape, ...) may normalise the
            # options and auxiliary arrays.
            opt_dict, aux_dict = check(
                name,
                x,
                dict(zip([p.name for p in params], values)),
                dict(opts),
                dict(zip(aux_names, aux)),
            )
            opts = tuple(opt_dict.items())
            aux = tuple(aux_dict[a] for a in aux_names)
        return compiled(x, values, aux, opts)

    activation.__name__ = activation.__qualname__ = name
    activation.__module__ = "actfn"
    activation.__signature__ = signature
    return activation


# The one docstring template of every activation (tests/test_docs.py holds it): a summary;
# f(x) and f'(x); facts and notes; Args; Returns; Kinks; References.
DOC_SECTIONS = ("f(x)  =", "f'(x) =", "Output range", "Args:", "Returns:", "Kinks:", "References:")


def _is_keras_tensor(x) -> bool:
    """A symbolic tensor of Keras' functional API (without importing Keras)."""
    kind = type(x)
    return kind.__name__ == "KerasTensor" and kind.__module__.startswith("keras")


def _doc(spec: Spec, summary: str, args: str) -> str:
    kinks = "\n".join(f"    {k.text}" for k in spec.kinks) or "    none (differentiable everywhere)"
    lo, hi = spec.output_range
    notes = f"\n\n{spec.notes}" if spec.notes else ""
    return (
        f"{summary}\n\n"
        f"    f(x)  = {spec.formula}\n"
        f"    f'(x) = {spec.derivative}\n\n"
        f"Output range (default parameters): [{lo}, {hi}].  "
        f"Backward rule keeps: {spec.saves or 'nothing'}.  Use: {spec.use}.  "
        f"Initializer: `jax.nn.initializers.{spec.initializer}`.{notes}\n\n"
        f"Args:\n    x: input array (or number, or list of numbers).\n{args}\n"
        "Returns:\n    An array of the input's shape and (floating) dtype.\n\n"
        f"Kinks:\n{kinks}\n\n"
        f"References:\n    {spec.paper}"
    )


def with_jvp(
    forward: Callable, partials: Callable, saves: str | None, aux: tuple, options: dict
) -> Callable:
    """`forward(x, *params)` as a `jax.custom_jvp` whose tangent uses the hand-written partials.

    The forward pass is what higher-order derivatives differentiate (grad of grad
    differentiates the backward rule *and* the saved y), so its derivative is the hand-written
    one too, not autodiff of its stable-but-roundabout formula.  This is also the forward-mode
    twin that `actfn.forward_mode` exposes.
    """

    def primal(x, params, aux_values):
        return forward(x, *params, *aux_values, **options)

    # aux (a PRNG key) is an argument, not a closure: a custom_jvp must not close over tracers.
    smooth = jax.custom_jvp(primal)

    @smooth.defjvp
    def _(primals, tangents):
        x, params, aux_values = primals
        dot_x, dot_params, _ = tangents
        y = primal(x, params, aux_values)
        saved = {"x": x, "y": y, None: None}[saves]
        slopes = partials(saved, *params, *aux_values, **options)
        tangent = functools.reduce(jnp.add, (d * t for d, t in zip(slopes, (dot_x, *dot_params))))
        return y, jnp.broadcast_to(tangent, y.shape).astype(y.dtype)

    return lambda x, *params: smooth(x, params, tuple(aux))


def elementwise(
    *,
    forward: Callable,
    partials: Callable,
    summary: str,
    args: str = "",
    param_aliases: dict[str, str] | None = None,
    check: Callable | None = None,
    aux: tuple[str, ...] = (),
    registered: bool = True,
    at_defaults: dict | None = None,
    backward: Callable | None = None,
    native: bool = False,
    partials_from_x: Callable | None = None,
    **spec_kwargs,
) -> Callable:
    """Define an elementwise activation from its forward pass and its partial derivatives.

    `forward(x, *params, *aux, **options)` returns y; `partials(saved, *params, *aux, **options)`
    returns the tuple (df/dx, df/dparam1, ...) evaluated elementwise, where `saved` is what
    `spec_kwargs["saves"]` names.  The backward rule multiplies them by the cotangent, unless
    `backward(saved, *params, *aux, g, **options)` gives the cotangents itself (relu selects g
    where a product with a 0/1 slope would cost a multiply); it must propagate NaN itself.
    `native` computes in the input's own dtype, for work that is exact in any dtype.
    `at_defaults` optionally overrides these keywords for calls that leave every parameter at
    its default, where the general formula costs more than it needs (relu's cap, slope and
    threshold; XLA cannot simplify a select chain that also guards inf and NaN).
    `partials_from_x(x, *params, ...)`, for an activation that keeps y, gives the same partials
    from x; the backward rule keeps x and uses it while a parameter is being differentiated
    (celu's df/dalpha from y loses up to |x| eps / 4), and y otherwise.
    """
    if at_defaults is not None:
        at_defaults = elementwise(
            **{
                "forward": forward,
                "partials": partials,
                "summary": summary,
                **spec_kwargs,
                "params": (),
                "options": (),
                **at_defaults,
                "registered": False,
            }
        ).compiled

    def nan_guarded(hand_written):
        def partials(saved, *rest, **options):
            # NaN in gives NaN out in the gradient too: the branches of a piecewise derivative
            # would otherwise turn a NaN input into a finite slope.
            slopes = hand_written(saved, *rest, **options)
            if saved is None:
                return slopes
            nan = jnp.isnan(saved)
            return tuple(jnp.where(nan, jnp.nan, d) for d in slopes)

        return partials

    partials = nan_guarded(partials)

    def fwd(x, params, aux_values, **options):
        return with_jvp(forward, partials, spec_kwargs.get("saves", "x"), aux_values, options)(
            x, *params
        )

    def product_of(partials):
        def product(saved, params, aux_values, g, **options):
            return tuple(g * d for d in partials(saved, *params, *aux_values, **options))

        return product

    def given(saved, params, aux_values, g, **options):
        return backward(saved, *params, *aux_values, g, **options)

    return _register(
        fwd,
        product_of(partials) if backward is None else given,
        summary,
        args,
        param_aliases,
        check,
        aux,
        spec_kwargs,
        elementwise=True,
        registered=registered,
        at_defaults=at_defaults,
        native=native,
        backward_from_x=partials_from_x and product_of(nan_guarded(partials_from_x)),
    )


def along_axis(
    *,
    forward: Callable,
    vjp: Callable,
    summary: str,
    args: str = "",
    check: Callable | None = None,
    aux: tuple[str, ...] = (),
    **spec_kwargs,
) -> Callable:
    """Define an activation that mixes elements along `axis` (softmax, glu, ...).

    `forward(x, *aux, axis=...)` returns y; `vjp(saved, g, *aux, axis=...)` returns the input
    cotangent.  Such activations have no continuous parameters.
    """

    def fwd(x, params, aux_values, **options):
        return forward(x, *aux_values, **options)

    def backward(saved, params, aux_values, g, **options):
        return (vjp(saved, g, *aux_values, **options),)

    return _register(fwd, backward, summary, args, None, check, aux, spec_kwargs, elementwise=False)


REGISTRY: dict[str, Spec] = {}


ALIASES: dict[str, str] = {}


# Each activation's forward-mode twin (see `forward_twin`), by function.
TWINS: dict[Callable, Callable] = {}


def _register(
    fwd,
    backward,
    summary,
    args,
    param_aliases,
    check,
    aux,
    spec_kwargs,
    *,
    elementwise: bool,
    registered: bool = True,
    at_defaults: Callable | None = None,
    native: bool = False,
    backward_from_x: Callable | None = None,
) -> Callable:
    name = spec_kwargs["name"]
    compiled, twin = _wire(
        name, fwd, spec_kwargs.get("saves", "x"), backward, native, backward_from_x
    )
    function = _front(spec_kwargs, compiled, check, param_aliases or {}, aux, at_defaults)
    function.compiled = compiled
    spec = Spec(
        function=function,
        elementwise=elementwise,
        param_aliases=tuple((param_aliases or {}).items()),
        **spec_kwargs,
    )
    function.__doc__ = _doc(spec, summary, args)
    function.spec = spec
    forward = _front(
        {**spec_kwargs, "name": f"forward_mode({name})"}, twin, check, param_aliases or {}, aux
    )
    forward.__doc__ = (
        f"`actfn.{name}` as a `jax.custom_jvp` (for `jax.jvp`, `jax.jacfwd`, "
        f"`jax.hessian`), from the same hand-written derivative.\n\n" + function.__doc__
    )
    forward.spec = spec
    TWINS[function] = forward
    if registered:
        add(spec)
    return function


def add(spec: Spec) -> None:
    """Put a spec and its aliases in the registry (names must be new)."""
    for key in (spec.name, *spec.aliases):
        if key in REGISTRY or key in ALIASES:
            raise ValueError(f"The activation name `{key}` is already registered.")
    REGISTRY[spec.name] = spec
    for alias in spec.aliases:
        ALIASES[alias] = spec.name


def check_axis(name: str, x: jax.Array, axis) -> tuple[int, ...]:
    """Normalise `axis` (an int or a tuple of ints) or raise a `ValueError` naming the range."""
    axes = axis if isinstance(axis, Sequence) else (axis,)
    if x.ndim == 0:
        # jax.nn.softmax returns 1 here, which hides the mistake: Equinox's eqx.nn.MLP applies
        # `final_activation` to each output neuron separately, so softmax sees scalars.
        raise ValueError(
            f"`actfn.{name}` works along an axis, but got a scalar (rank-0 input). If this is "
            "`eqx.nn.MLP(final_activation=...)`, which applies it to each output separately, "
            f"apply `actfn.{name}` to the MLP's output instead."
        )
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(
                f"`actfn.{name}` `axis` must be an int or a tuple of ints, got {axis!r}."
            )
        if not -x.ndim <= a < x.ndim:
            raise ValueError(
                f"`actfn.{name}` `axis={a}` is out of range for an input of rank {x.ndim}. "
                f"Pass an axis in [{-x.ndim}, {x.ndim - 1}]."
            )
        out.append(int(a) % x.ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"`actfn.{name}` `axis={axis!r}` repeats an axis. Name each axis once.")
    return tuple(out)
