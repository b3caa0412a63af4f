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
    fn: Callable
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


def _resolve(fn, reference, params, kinks) -> _Target:
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
    else:
        values = given
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
        user_reference = reference

        def reference(x, *ps):
            return user_reference(x, **dict(zip(cont, ps)), **static)

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

    return _Target(
        name=name,
        fn=base,
        spec=spec,
        params=cont,
        static=static,
        reference=reference,
        kinks=kinks,
        domain=spec.domain if spec else (-math.inf, math.inf),
        trusted=spec.trusted if spec else (-math.inf, math.inf),
        elementwise=spec.elementwise if spec else True,
    )


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
