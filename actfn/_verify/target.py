"""What `actfn.verify` checks: the function, its reference, parameters and kinks, resolved from
the registry or from the call, and the default input points."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from actfn._registry import registered
from actfn._wiring import Spec


@dataclasses.dataclass
class _Target:
    name: str
    fn: Callable  # fn(x, *param values), the static arguments bound
    raw: Callable  # the function as given
    spec: Spec | None
    params: dict  # continuous parameters: name -> float
    static: dict  # everything else passed through unchanged
    reference: Callable | None  # reference(x, *param values) in float64
    kinks: Callable[[dict], list]  # parameter values -> [(location, slope or None)]
    domain: tuple[float, float]
    trusted: tuple[float, float]
    elementwise: bool


def spec_of(fn: Callable) -> tuple[Spec | None, dict]:
    """The registered spec behind `fn` (or a partial of it) and the partial's keywords."""
    keywords: dict = {}
    target = fn
    if isinstance(fn, functools.partial):
        target, keywords = fn.func, dict(fn.keywords)
    entry = registered(target)
    if entry is not None:
        return entry, keywords
    attached = getattr(target, "spec", None)
    return (attached if isinstance(attached, Spec) else None), keywords


def _is_continuous(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return True
    return isinstance(value, (np.ndarray, np.generic, jax.Array)) and jnp.issubdtype(
        np.asarray(value).dtype, jnp.floating
    )


def _resolve(fn, reference, params, kinks, axis=None) -> _Target:
    spec, keywords = spec_of(fn)
    base = fn.func if isinstance(fn, functools.partial) else fn
    name = spec.name if spec else getattr(base, "__name__", repr(base))
    given = {**keywords, **(params or {})}
    if spec is not None:
        values = {**spec.defaults, **dict(spec.options)}
        # Required parameters (prelu's alpha) take the spec's example value.
        values.update(
            {k: v for k, v in spec.example if values.get(k, None) is inspect.Parameter.empty}
        )
        values.update(given)
        missing = [k for k, v in values.items() if v is inspect.Parameter.empty]
        if missing:
            raise ValueError(f"`actfn.verify` needs a value for `{missing[0]}` of `{name}`.")
        if axis is not None:
            if spec.elementwise:
                raise ValueError(
                    f"`actfn.verify`: `{name}` is elementwise, and `axis` declares a function "
                    "that works along an axis. Leave `axis` out."
                )
            values["axis"] = axis
    else:
        values = given
        if axis is not None and "axis" not in values and _takes(base, "axis"):
            values["axis"] = axis
    cont = {k: float(v) for k, v in values.items() if _is_continuous(v) and np.ndim(v) == 0}
    static = {k: v for k, v in values.items() if k not in cont}
    if reference is None and spec is not None and spec.reference is not None:
        order = [p.name for p in spec.params]
        ref_static = {k: v for k, v in static.items() if k in dict(spec.options)}

        def reference(x, *ps, _ref=spec.reference):
            full = dict(zip(cont, ps))
            args = [full.get(n, _none_value(spec, n, static.get(n))) for n in order]
            return _ref(x, *args, **ref_static)
    elif reference is not None:
        reference = _bound(reference, list(cont), static, f"the reference of `{name}`")

    if kinks is None and spec is not None:
        # Kinks move with the parameters: evaluated at the values actually tested (rounded to
        # the dtype), so that they are where the function has them.
        def kink_list(rounded, _spec=spec):
            pv = {p.name: _none_value(_spec, p.name, values.get(p.name)) for p in _spec.params}
            pv.update(rounded)
            return [(k.at(pv), k.slope(pv)) for k in _spec.kinks]
    else:
        fixed = (
            list(kinks.items())
            if isinstance(kinks, Mapping)
            else [(k, None) for k in (kinks or ())]
        )

        def kink_list(rounded, _fixed=fixed):
            return _fixed

    def kinks(rounded, _list=kink_list):
        return [
            (float(a), None if s is None else float(s)) for a, s in _list(rounded) if np.isfinite(a)
        ]

    if spec is None:
        call = _bound(base, list(cont), static, f"`{name}`")
    else:
        names = tuple(cont)

        def call(x, *ps, _names=names, _static=static):
            return base(x, **dict(zip(_names, ps)), **_static)

    return _Target(
        name=name,
        fn=call,
        raw=base,
        spec=spec,
        params=cont,
        static=static,
        reference=reference,
        kinks=kinks,
        domain=spec.domain if spec else (-math.inf, math.inf),
        trusted=spec.trusted if spec else (-math.inf, math.inf),
        elementwise=spec.elementwise
        if spec
        else axis is None and _acts_elementwise(call, list(cont.values())),
    )


def _bound(fn: Callable, names: list[str], static: dict, what: str) -> Callable:
    """`fn` as `f(x, *values of names)`, the parameters passed by name where `fn` takes those
    names (or `**kwargs`), else in order, so that `lambda x, a: ...` serves a parameter `alpha`.

    Raises a `TypeError` up front when `fn` takes neither.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature to read: pass by name, as the function
        signature = None
    probe = dict.fromkeys(names, 0.0)
    if signature is None or _binds(signature, (0.0,), {**probe, **static}):
        return lambda x, *ps: fn(x, **dict(zip(names, ps)), **static)
    if _binds(signature, (0.0, *probe.values()), static):
        return lambda x, *ps: fn(x, *ps, **static)
    wanted = ", ".join(f"`{n}`" for n in [*names, *static]) or "no parameters"
    raise TypeError(
        f"`actfn.verify`: {what} takes {signature}, but the parameters are {wanted}. Give it "
        "x followed by one argument per parameter, in order or by those names."
    )


def _takes(fn: Callable, argument: str) -> bool:
    try:
        return argument in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _acts_elementwise(call: Callable, values: list[float]) -> bool:
    """Whether `call` maps each element on its own: its value on an array equals its values on
    the elements one at a time (a softmax's does not, or fails on a scalar)."""
    x = np.random.default_rng(0).normal(scale=2.0, size=(3, 5))
    with jax.enable_x64(False):
        xs = jnp.asarray(x, dtype=jnp.float32)
        ps = [jnp.asarray(v, dtype=jnp.float32) for v in values]
        try:
            whole = np.asarray(call(xs, *ps), dtype=np.float64)
        except Exception:  # noqa: BLE001 - the checks report the failure itself
            return True
        try:
            each = np.asarray(jax.vmap(jax.vmap(lambda z: call(z, *ps)))(xs), dtype=np.float64)
        except Exception:  # noqa: BLE001 - it needs an array: it works along an axis
            return False
    return whole.shape == x.shape == each.shape and np.allclose(
        whole, each, rtol=1e-5, atol=1e-6, equal_nan=True
    )


def _binds(signature: inspect.Signature, args: tuple, kwargs: dict) -> bool:
    try:
        signature.bind(*args, **kwargs)
    except TypeError:
        return False
    return True


def _none_value(spec: Spec, name: str, value):
    for p in spec.params:
        if p.name == name and value is None and p.none is not None:
            return p.none
    return value


def default_points(domain: tuple[float, float] = (-math.inf, math.inf)) -> np.ndarray:
    """The default grid: dense near 0, logarithmic out to 1e3, and seeded random points."""
    rng = np.random.default_rng(0)
    mags = np.concatenate([np.geomspace(1e-3, 1e3, 49), [2.0, 3.0, 5.0, 10.0, 20.0, 50.0]])
    pts = np.concatenate([np.linspace(-6.0, 6.0, 97), mags, -mags, rng.uniform(-8, 8, 64)])
    lo, hi = domain
    pts = pts[(pts > lo) & (pts < hi)]
    if lo > -math.inf and len(pts) < 50:
        pts = np.concatenate([pts, lo + np.geomspace(1e-2, 30.0, 97)])
    return np.unique(pts)
