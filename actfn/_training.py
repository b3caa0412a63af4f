"""Training helpers: which parameters of a model are an activation's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax

from actfn._wiring import REGISTRY

# Path entries that wrap a parameter's value rather than name it (Flax NNX's `value`).
_WRAPPERS = frozenset({"value", "raw_value"})


def activation_parameter_names() -> frozenset[str]:
    """Every continuous parameter name of every registered activation (alpha, beta, a, ...)."""
    return frozenset(p.name for entry in REGISTRY.values() for p in entry.params)


def _name(key) -> str | None:
    for attribute in ("key", "name"):
        value = getattr(key, attribute, None)
        if isinstance(value, str):
            return value
    return None


def weight_decay_mask(params: Any, names: Iterable[str] | None = None) -> Any:
    """An Optax mask that leaves activation parameters out of weight decay.

    PReLU's and xIELU's authors, among others, train the activation's parameters without
    weight decay, which would pull a learned slope or curvature towards 0:
    `optax.adamw(1e-3, weight_decay=1e-4, mask=actfn.weight_decay_mask(params))`.

    A leaf is an activation parameter when the last name on its path (a dict key or an
    attribute, skipping Flax NNX's `value`) is one of `names`. Name such parameters after the
    activation's own (`alpha`, `beta`, `a`, `s`, `a0` ...): a bias called `b` is then left out
    too, as biases usually are.

    Args:
        params: the model's parameters, a pytree (Flax NNX state, Linen params, an Equinox
            module filtered to arrays, a dict).
        names: the parameter names to leave out (default: every continuous parameter name of
            every registered activation, `activation_parameter_names()`).

    Returns:
        A pytree of booleans of `params`' structure: True where weight decay applies.
    """
    excluded = activation_parameter_names() if names is None else frozenset(names)

    def decays(path, _leaf):
        named = [n for n in (_name(k) for k in path) if n is not None and n not in _WRAPPERS]
        return not (named and named[-1] in excluded)

    return jax.tree_util.tree_map_with_path(decays, params)
