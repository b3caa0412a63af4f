"""The registry: look activations up by name, alias or config, and save them as configs."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from actfn._define import forward_mode
from actfn._wiring import ALIASES, REGISTRY, TWINS, Spec, add

# The prefix of a forward-mode twin's name: "forward.tanh" is `actfn.forward.tanh`.
FORWARD = "forward."

# Names in circulation elsewhere for one of our functions with a parameter set, so that
# `get("gelu_new")` is the same function as Hugging Face's `ACT2FN["gelu_new"]`.  (Plain
# renamings, such as `relu2` and `swish`, are aliases in the definitions.)
NAMES_IN_CIRCULATION: dict[str, tuple[dict, str]] = {
    "gelu_new": ({"name": "gelu", "approximate": True}, "Hugging Face (`NewGELUActivation`)"),
    "gelu_pytorch_tanh": (
        {"name": "gelu", "approximate": True},
        'Hugging Face (`PytorchGELUTanh`); PyTorch\'s `gelu(approximate="tanh")`',
    ),
    "gelu_fast": (
        {"name": "gelu", "approximate": True},
        "Hugging Face (`FastGELUActivation`: the same formula, factored)",
    ),
    "gelu_python": ({"name": "gelu"}, "Hugging Face (`GELUActivation(use_gelu_python=True)`)"),
}


def names() -> list[str]:
    """Every canonical activation name, in registration order."""
    return list(REGISTRY)


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    if key in REGISTRY:
        return key
    if key in ALIASES:
        return ALIASES[key]
    known = [*REGISTRY, *ALIASES, *NAMES_IN_CIRCULATION]
    close = difflib.get_close_matches(key, known, n=5, cutoff=0.5)
    hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
    raise ValueError(
        f"`actfn` has no activation named `{name}`.{hint} `actfn.names()` lists them all."
    )


def spec(name: str) -> Spec:
    """The facts about an activation (formula, range, kinks, use, initializer, paper).

    Args:
        name: a name or alias.

    Returns:
        The activation's `Spec`.
    """
    return REGISTRY[_canonical(name)]


def _param_value(value):
    # JSON gives lists for array parameters (a per-channel prelu slope).
    return np.asarray(value, dtype=np.float32) if isinstance(value, list) else value


class Bound(functools.partial):
    """An activation with parameters bound from a config: a `functools.partial` that knows its
    config (`get_config`, `from_config`), so that frameworks that save callables by their config
    (Keras, once `actfn.keras` is imported) can save it."""

    __slots__ = ()

    def get_config(self) -> dict:
        return serialize(self)

    @classmethod
    def from_config(cls, config: Mapping) -> Bound:
        found = get(config)
        return found if isinstance(found, Bound) else cls(found)

    def __repr__(self) -> str:
        return f"actfn.get({serialize(self)!r})"


def get(identifier: str | Mapping | Callable | None) -> Callable:
    """An activation from a name or alias, a config dict, a callable, or None (identity).

    `get("relu")`; `get({"name": "elu", "alpha": 0.5})`, a `Bound`: the `functools.partial` of
    the function with the parameters bound, which knows its config; `get(fn)` returns `fn`;
    `get(None)` returns `identity`.  A name `"forward.NAME"` gives the forward-mode twin
    (`actfn.forward.NAME`), alone or in a config.

    Args:
        identifier: a name or alias (case and `-` / `_` do not matter), a config dict with a
            `name` key and parameters, a callable, or None.

    Returns:
        The activation (a `Bound` partial of it when a config binds parameters).
    """
    if identifier is None:
        return REGISTRY["identity"].function
    if isinstance(identifier, (str, Mapping)):
        # "forward.NAME": the forward-mode twin (`actfn.forward.NAME`), parameters bound alike.
        name = identifier if isinstance(identifier, str) else identifier.get("name")
        if isinstance(name, str) and name.strip().lower().startswith(FORWARD):
            plain = name.strip()[len(FORWARD) :]
            found = get(plain if isinstance(identifier, str) else {**identifier, "name": plain})
            if isinstance(found, functools.partial):
                return Bound(forward_mode(found.func), **found.keywords)
            return forward_mode(found)
    if isinstance(identifier, str):
        key = identifier.strip().lower().replace("-", "_")
        if key in NAMES_IN_CIRCULATION and key not in REGISTRY and key not in ALIASES:
            return get(NAMES_IN_CIRCULATION[key][0])
        return spec(identifier).function
    if isinstance(identifier, Mapping):
        config = dict(identifier)
        if "name" not in config:
            raise ValueError(
                f"`actfn.get` got the config {identifier!r} without a `name` key. "
                'Pass a dict like {"name": "elu", "alpha": 0.5}.'
            )
        found = spec(config.pop("name"))
        for old_name, new_name in found.param_aliases:
            # Another library's spelling (Keras' `default_value` for threshold's `value`).
            if old_name in config:
                if new_name in config:
                    raise ValueError(
                        f"`actfn.get` got both `{old_name}` and `{new_name}` for "
                        f"`{found.name}`; `{old_name}` is another spelling of `{new_name}`. "
                        f"Pass only `{new_name}`."
                    )
                config[new_name] = config.pop(old_name)
        allowed = {p.name for p in found.params} | {o for o, _ in found.options}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ValueError(
                f"`actfn.{found.name}` has no parameter {', '.join(f'`{u}`' for u in unknown)}. "
                f"Its parameters are: {', '.join(sorted(allowed)) or 'none'}."
            )
        if not config:
            return found.function
        return Bound(found.function, **{k: _param_value(v) for k, v in config.items()})
    if callable(identifier):
        return identifier
    raise TypeError(
        f"`actfn.get` cannot make an activation from a {type(identifier).__name__}. "
        "Pass a name, a config dict, a callable or None."
    )


def _json_value(name: str, key: str, value: Any):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        array = np.asarray(value)
        return array.item() if array.ndim == 0 else array.tolist()
    raise TypeError(
        f"`actfn.serialize` cannot save `{key}={value!r}` of `{name}` as JSON. "
        "Bind numbers or arrays only."
    )


def registered(fn: Callable) -> Spec | None:
    """The registry's entry for exactly this function object, if it has one."""
    for entry in REGISTRY.values():
        if entry.function is fn:
            return entry
    return None


def serialize(fn: Callable) -> dict:
    """A JSON-able config for a registered activation, parameters bound by `get` included.

    Args:
        fn: a registered activation, or a `functools.partial` of one with parameters bound by
            keyword.

    Returns:
        A dict `{"name": ..., **parameters}` of JSON types, which `deserialize` turns back.
    """
    keywords: dict = {}
    target = fn
    if isinstance(fn, functools.partial):
        if fn.args:
            raise ValueError(
                "`actfn.serialize` needs parameters bound by keyword, got positional "
                f"arguments {fn.args!r}. Use `functools.partial(fn, alpha=...)`."
            )
        target, keywords = fn.func, dict(fn.keywords)
    entry = registered(target)
    prefix = ""
    if entry is None:
        # A forward-mode twin is saved as "forward.NAME".
        entry = next((registered(f) for f, t in TWINS.items() if t is target), None)
        prefix = FORWARD
    if entry is None:
        raise ValueError(
            f"`actfn.serialize` does not know the function {fn!r}. Register it first with "
            "`actfn.register(fn, name)`."
        )
    name = prefix + entry.name
    return {"name": name, **{k: _json_value(name, k, v) for k, v in keywords.items()}}


def deserialize(config: Mapping | str) -> Callable:
    """The activation a config from `serialize` describes (the inverse of `serialize`).

    Args:
        config: a dict from `serialize`, or a name.

    Returns:
        The activation, with its parameters bound as the config says.
    """
    if not isinstance(config, (Mapping, str)):
        raise TypeError(
            f"`actfn.deserialize` takes a dict from `actfn.serialize` or a name, got "
            f"{type(config).__name__}."
        )
    return get(config)


def register(fn: Callable, name: str, **facts) -> Callable:
    """Make `fn` (for example an `actfn.define` result) available to `get` and `serialize`.

    Args:
        fn: the activation.
        name: its name in the registry, an identifier not yet registered.
        **facts: `Spec` fields (formula, derivative, output_range, use, initializer, paper,
            ...) for a function that does not carry a spec of its own.

    Returns:
        `fn` itself.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"`actfn.register` needs a name that is an identifier, got {name!r}.")
    existing = getattr(fn, "spec", None)
    if isinstance(existing, Spec):
        entry = Spec(**{**existing.__dict__, "name": name, "aliases": (), **facts})
    else:
        entry = Spec(
            name=name,
            function=fn,
            formula=facts.pop("formula", "user-defined"),
            derivative=facts.pop("derivative", "user-defined"),
            output_range=facts.pop("output_range", (float("-inf"), float("inf"))),
            use=facts.pop("use", "user-defined"),
            initializer=facts.pop("initializer", "glorot_uniform"),
            paper=facts.pop("paper", "user-defined"),
            **facts,
        )
    add(entry)
    return fn
