"""Every activation in forward mode, under its own name: `actfn.forward.tanh`.

Each is the activation's `jax.custom_jvp` twin (`actfn.forward_mode(actfn.tanh)`, the same
object): its tangent is the transpose of the hand-written backward rule, so both share one
derivative, and JAX can take it in forward mode: `jax.jvp`, `jax.jacfwd`, `jax.hessian`,
`jax.test_util.check_grads(..., modes=("fwd", "rev"))`.  Reverse mode works on the twins too
(JAX transposes the tangent), but the activations themselves keep less memory in training.

    import actfn.forward as F
    jax.jacfwd(F.gelu)(x)
    jax.hessian(lambda x: F.softplus(x).sum())(x)

The names are the registry's (canonical names and aliases), and an activation registered
later with `actfn.register` is here too.  `actfn.get("forward.tanh")` and `actfn.serialize`
know them.
"""

from __future__ import annotations

from collections.abc import Callable

from actfn._wiring import ALIASES as _ALIASES, REGISTRY as _REGISTRY, TWINS as _TWINS


def _twin(name: str) -> Callable:
    key = _ALIASES.get(name, name)
    if key not in _REGISTRY:
        raise AttributeError(
            f"`actfn.forward` has no activation named `{name}`. `actfn.names()` lists them all."
        )
    function = _REGISTRY[key].function
    if function not in _TWINS:
        raise AttributeError(
            f"`actfn.{key}` was registered without a forward-mode twin (it is not an actfn "
            "activation or an `actfn.define` result), so `actfn.forward` has none."
        )
    return _TWINS[function]


def __getattr__(name: str) -> Callable | list[str]:
    # Looked up when asked for, so that the namespace is the registry's at any time (and its
    # import order does not matter).
    if name == "__all__":
        return [*_REGISTRY, *_ALIASES]
    if name.startswith("__"):
        raise AttributeError(name)
    return _twin(name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_REGISTRY, *_ALIASES})
