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

import contextlib
import contextvars
import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

REQUIRED = inspect.Parameter.empty
_LOW_PRECISION = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))
ACCEPTED_DTYPES = "float16, bfloat16, float32, float64 (integers and booleans are promoted)"


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

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


def times_gate(x, gate):
    """x * gate with the limit 0 where an infinite x meets a gate that is exactly 0.

    silu, gelu, mish and the gated units at x = -inf are -inf * 0 = NaN as written; their
    limit is 0.  NaN still propagates (only an infinite x is special-cased).
    """
    return jnp.where(jnp.isinf(x) & (gate == 0), 0.0, x * gate)


def expm1(x):
    """exp(x) - 1 within 1.7 ulp in float32 and 0.75 in float64 (XLA's expm1: 3.8 and 3), and
    about twice as fast on CPU.

    For |x| < log 2 its Taylor series, x + (x^2 / 2)(1 + x/3 (1 + x/4 (...))): the inner sums
    are near 1 and the correction to x is at most 0.4 of it, so their roundings are damped
    (10 terms reach float32's eps at |x| = log 2, 17 float64's).  Beyond, exp(x) - 1 subtracts
    exactly (Sterbenz) or leaves a |result| >= 1/2; in float64 from `exp_parts`, rounded once.
    """
    terms = 17 if x.dtype == jnp.float64 else 10
    small = jnp.abs(x) < math.log(2.0)
    xs = jnp.where(small, x, 0.0)  # the series only sees small arguments
    acc = jnp.ones_like(x)
    for n in range(terms, 2, -1):
        acc = 1.0 + acc * xs / float(n)
    # x itself where it is 0 (or flushed): the sum would turn -0 into +0, and 1 / expm1 needs it.
    series = jnp.where(xs == 0.0, xs, xs + (xs * xs * 0.5) * acc)
    beyond = jnp.exp(x) - 1.0
    if x.dtype == jnp.float64:
        # exp(x) as hi + lo, and hi - 1 as a sum and its error (Knuth): one rounding in all.
        hi, lo = exp_parts(x)
        s, error = two_sum(hi, -1.0)
        beyond = s + (error + lo)
    return jnp.where(small, series, beyond)


def split(a):
    """a as hi + lo, exactly, each with about half of the significand's bits (Dekker's split).

    Products of halves are then exact, which is how `two_product` works without an FMA.  hi is
    a with the low bits of its significand masked off (12 of float32's 24 bits, 26 of
    float64's 53), not Veltkamp's a * 4097 - (a * 4097 - a): a compiler that contracts a
    multiply and a subtraction into an FMA (XLA's GPU backend may) would turn Veltkamp's hi
    into a number with too many bits, and its products would round.  The mask also cannot
    overflow, and it is two instructions instead of four.  (In float64 lo has up to 27 bits,
    so lo * lo may round: by 2^-106 of the product, far below anything kept.)
    """
    if isinstance(a, np.ndarray):
        bits = np.uint64 if a.dtype == np.float64 else np.uint32
        mask = _SPLIT_MASK[a.dtype == np.float64]
        hi = (a.view(bits) & bits(mask)).view(a.dtype)
        return hi, a - hi
    bits = jnp.uint64 if a.dtype == jnp.float64 else jnp.uint32
    mask = _SPLIT_MASK[a.dtype == jnp.float64]
    hi = jax.lax.bitcast_convert_type(
        jax.lax.bitcast_convert_type(a, bits) & jnp.asarray(mask, bits), a.dtype
    )
    return hi, a - hi


# Sign, exponent and the top 11 (float32) or 25 (float64) stored significand bits.
_SPLIT_MASK = {False: 0xFFFFF000, True: 0xFFFFFFFFF8000000}


def dtype_kind(x) -> str:
    """The key of the per-dtype constants: "float64", or "float32" (which the 16-bit dtypes
    compute in)."""
    return "float64" if x.dtype == jnp.float64 else "float32"


def split_constant(value: Decimal, dtype) -> tuple[float, float, tuple[float, float]]:
    """value as hi + lo, each representable in dtype (hi + lo carries twice its precision),
    and hi's halves (`split`) for `two_product`."""
    hi = np.asarray(float(value), dtype)
    lo = float(np.asarray(float(value - Decimal(float(hi))), dtype))
    halves = tuple(float(h) for h in split(hi))
    return float(hi), lo, halves


def two_product(a, b, a_halves=None):
    """a * b as p + e with p the rounded product and e its rounding error, exactly (Dekker).

    `a_halves` is `split(a)` when it is known already (a constant split once in NumPy).
    """
    p = a * b
    ah, al = split(a) if a_halves is None else a_halves
    bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def rounded(p):
    """The product p as rounded, for a compensated sum to take as an operand.

    XLA's CPU compiler contracts a product and the sum it feeds into one FMA, and may do so for
    one use of the sum and not another: two_sum(c3 x^2, c1) then returned a hi from the exact
    product and a lo for the rounded one (gelu's tanh form, float64: 17 ulp).  A select on
    p != p (NaN stays NaN) stands between the product and the sum.
    """
    return jnp.where(p != p, jnp.nan, p)


def two_sum(a, b):
    """a + b as s + e with s the rounded sum and e its rounding error, exactly (Knuth).

    A constant a would let XLA fold (c + b) - c into b and e into 0: a Python float a is made
    opaque first.  An operand that is a product takes `rounded` at the call site (XLA's CPU
    compiler may fuse it into the sum for s and not for e); the guard is not built in, as most
    operands are sums or exact products, for which it would be a select for nothing.
    """
    if isinstance(a, float):
        a = opaque(a, jnp.result_type(b))
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


_NARROW = contextvars.ContextVar("actfn_narrow_input", default=False)


def narrow_input() -> bool:
    """True while an activation is traced for a float16 or bfloat16 input.

    Such inputs are computed in float32 and rounded once to 8 or 11 bits, so a float32 formula
    a few ulp off is already correctly rounded after it: the extra-precision float32 paths
    (our tanh, gelu's double-word tanh form) may take XLA's cheaper arithmetic instead.
    """
    return _NARROW.get()


@contextlib.contextmanager
def _tracing_for(dtype):
    token = _NARROW.set(jnp.dtype(dtype) in _LOW_PRECISION)
    try:
        yield
    finally:
        _NARROW.reset(token)


def log1p(u):
    """log(1 + u) for -1/2 <= u <= 1: within 1.5 ulp in float32 and 1 in float64, and on CPU
    about twice as fast as XLA's (whose float64 log1p is 120 ulp off near -0.41).

    log1p(u) = 2 atanh(z), z = u / (2 + u) in [-1/3, 1/3]: the odd series t (1 + z^2/3 +
    z^4/5 + ...) with t = 2z = 2u / (2 + u).  t carries its rounding error as t_lo, from the
    remainder 2u - t (2 + u) = 2 (u - t) - t u: u - t is exact (t is within a factor of 2 of
    u), t u is exact as p + p_lo (Dekker), and 2 (u - t) - p is exact (the two are equal but
    for the remainder).  So only the final sum rounds in full.  (The remainder was once
    2u - t d - t d_lo with d_lo = u - ((2 + u) - 2), Fast2Sum's error of d = 2 + u: XLA folds
    the two constants of (u + 2) - 2 and d_lo came out 0, which cost float64 1.4 ulp.)
    """
    d = 2.0 + u
    # One division, its result used twice: with two, XLA's CPU backend splits the loop (44
    # bytes moved per element in softplus's forward+backward instead of 20).
    inverse = 1.0 / d
    t = (2.0 * u) * inverse
    p, p_lo = two_product(t, u)
    t_lo = ((2.0 * (u - t) - p) - p_lo) * inverse
    z2 = 0.25 * (t * t)
    acc = jnp.zeros_like(u)
    for k in range(16 if u.dtype == jnp.float64 else 8, 0, -1):  # (1/9)^k / (2k + 1) < eps
        acc = acc * z2 + 1.0 / (2 * k + 1)
    return t + (t_lo + t * (z2 * acc))


# ln 2 as hi + lo with hi's low 11 bits 0, so that k hi is exact for |k| < 2^11 (Cody and Waite).
_LN2_HI = 0.6931471805598903
_LN2_LO = 5.497923018708371e-14
# exp(r) = 1 + r + r^2 (1/2 + r/6 + ...) for |r| <= ln(2) / 2: to r^13 (the next term is 4e-18).
_EXP_SERIES = tuple(1.0 / math.factorial(n) for n in range(2, 14))


def opaque(value: float, dtype) -> jax.Array:
    """The constant `value` as a scalar XLA cannot see through while it simplifies: it folds
    the constants of (1 + r) - 1 into r - r = 0, which erases a compensated sum's error term
    (log1p lost it that way once)."""
    return jax.lax.optimization_barrier(jnp.asarray(value, dtype))


# Where the reduction's 2^k (k = x / ln 2 rounded) is a normal float64.
EXP_PARTS_RANGE = (-708.39, 709.43)


def exp_parts(x):
    """exp(x) as hi + lo (float64), together within 0.15 ulp of exp(x) in EXP_PARTS_RANGE;
    beyond it, where the result is below the normal range or next to overflow, XLA's exp and 0.

    XLA's float64 exp is up to 1.45 ulp off, and whatever follows it adds its own roundings:
    log1mexp 2.5 ulp and sigmoid 2 near x = 1 and in the left tail.  Here x = k ln 2 + r with
    r = (x - k ln2_hi) - k ln2_lo as hi + lo (the first difference exact); exp(r) = (1 + r) +
    (r_lo + r^2 P(r) + r r_lo), whose small second part carries the series' roundings damped,
    and 1 + r is exact as a sum and its error.  2^k is exact.
    """
    low, high = EXP_PARTS_RANGE
    inside = (x >= low) & (x <= high)
    xs = jnp.where(inside, x, 0.0)
    k = jnp.round(xs * (1.0 / math.log(2.0)))
    # r + r_lo = (x - k ln2_hi) - k ln2_lo with r_lo below half an ulp of r (k ln2_lo itself
    # reaches 2^-34: its products with r would not be negligible).
    r, r_lo = two_sum(xs - k * _LN2_HI, -(k * _LN2_LO))
    tail = r_lo + (r * r * horner(_EXP_SERIES, r) + r * r_lo)
    one, one_lo = two_sum(1.0, r)
    hi, lo = two_sum(one, one_lo + tail)
    scale = jax.lax.bitcast_convert_type((k.astype(jnp.int64) + 1023) << 52, jnp.float64)
    return jnp.where(inside, hi * scale, jnp.exp(x)), jnp.where(inside, lo * scale, 0.0)


def exp(x):
    """exp(x): XLA's in float32 (within 0.92 ulp), and in float64 `exp_parts`' hi, within 0.61
    ulp where XLA's is 1.45 off (and 1 next to the smallest normal)."""
    return exp_parts(x)[0] if x.dtype == jnp.float64 else jnp.exp(x)


def horner(coefficients, t):
    """The polynomial with `coefficients` (ascending powers) at t, by Horner's rule."""
    acc = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        acc = acc * t + c
    return acc


def compute_dtype(dtype) -> jnp.dtype:
    """The dtype an activation computes in: float32 for the 16-bit floats, else the dtype."""
    dtype = jnp.dtype(dtype)
    return jnp.dtype(jnp.float32) if dtype in _LOW_PRECISION else dtype


def as_input(x, name: str) -> jax.Array:
    """Apply the dtype policy to an activation's input, or raise a `TypeError` that says why."""
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
        with _tracing_for(x.dtype):
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
        return y, ({keeps: {"x": x, "y": y, None: None}[keeps]}, params, aux)

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
        with _tracing_for(g.dtype):
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


def _doc(spec: Spec, summary: str, args: str) -> str:
    kinks = "\n".join(f"    {k.text}" for k in spec.kinks) or "    none (differentiable everywhere)"
    lo, hi = spec.output_range
    notes = f"\n\n{spec.notes}" if spec.notes else ""
    return (
        f"{summary}\n\n"
        f"    f(x)  = {spec.formula}\n"
        f"    f'(x) = {spec.derivative}\n\n"
        f"Output range (default parameters): [{lo}, {hi}].\n"
        f"Kinks, and the derivative chosen there:\n{kinks}\n"
        f"Backward rule keeps: {spec.saves or 'nothing'}.{notes}\n\n"
        f"Use: {spec.use}.  Initializer: `jax.nn.initializers.{spec.initializer}`.\n\n"
        f"Args:\n    x: input array (or number, or list of numbers).\n{args}\n"
        "Returns:\n    An array of the input's shape and (floating) dtype.\n\n"
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
    spec = Spec(function=function, elementwise=elementwise, **spec_kwargs)
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
