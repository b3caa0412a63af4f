"""actfn in Keras 3 (JAX backend): saved models that reload as actfn, and learnable layers.

    import actfn.keras                      # registers every activation with Keras
    layer = keras.layers.Dense(64, activation=actfn.gelu)         # or "actfn>gelu", or "snake"
    layer = keras.layers.Dense(64, activation=actfn.keras.activation("elu", alpha=0.5))
    model.add(actfn.keras.PReLU(shared_axes=[1, 2]))

Importing this module (the `keras` extra; `import actfn` never imports Keras):

* registers every activation and alias with `keras.saving.register_keras_serializable` under
  the package `actfn`, so a saved model records `actfn>gelu`, never a bare name that Keras
  would reload as its own function. A model saved so needs `import actfn.keras` before
  `keras.models.load_model`; without it Keras raises "Could not locate function
  'actfn>gelu'".
* makes the names resolvable as strings in layers (`activation="actfn>gelu"`, and the bare
  name where Keras has no function of that name: `activation="snake"`);
* registers `actfn.get` results (`actfn.Bound`) and the layers below, which save their config.

Keras' JAX backend must be the one in use: this module sets `KERAS_BACKEND=jax` when nothing
else has, and raises if Keras runs on another backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402

import actfn  # noqa: E402
from actfn._registry import Bound, registered  # noqa: E402
from actfn._wiring import ALIASES, REGISTRY, REQUIRED  # noqa: E402

if keras.backend.backend() != "jax":
    raise ImportError(
        f"`actfn.keras` needs Keras' JAX backend, but Keras runs on "
        f"`{keras.backend.backend()}`. Set `KERAS_BACKEND=jax` before Keras is first imported."
    )

PACKAGE = "actfn"


def _keras_names() -> dict:
    # The string names `keras.activations.get` resolves (`Dense(activation="relu")`).  Keras
    # keeps them in a module dict and offers no public way to add one; it is checked here.
    from keras.src import activations

    names = getattr(activations, "ALL_OBJECTS_DICT", None)
    if not isinstance(names, dict):
        raise ImportError(
            "`actfn.keras` cannot find Keras' table of activation names "
            "(keras.src.activations.ALL_OBJECTS_DICT) in this Keras version. Pass actfn's "
            "functions as callables (`activation=actfn.gelu`) instead of names."
        )
    return names


_KERAS_OWN = frozenset(_keras_names())


def register(fn: Callable, name: str | None = None, aliases: Sequence[str] = ()) -> Callable:
    """Make an activation save and load by name in Keras, as `actfn>NAME`.

    Every registered actfn activation is registered on import; use this for `actfn.define`
    results and functions registered with `actfn.register` after that.

    Args:
        fn: the activation.
        name: its name (default: its name in actfn's registry, or `fn.__name__`).
        aliases: further names that resolve to it as strings.

    Returns:
        `fn` itself.
    """
    entry = registered(fn)
    name = name or (entry.name if entry is not None else fn.__name__)
    table = _keras_names()
    # Aliases first: Keras records the name registered last, the canonical one.
    for key in (*aliases, name):
        keras.saving.register_keras_serializable(package=PACKAGE, name=key)(fn)
        table[f"{PACKAGE}>{key}"] = fn
        if key not in _KERAS_OWN:
            table[key] = fn
    return fn


def activation(identifier: str | dict, **params) -> Callable:
    """A parameterised activation that Keras can save: `activation("elu", alpha=0.5)`.

    Args:
        identifier: a name or alias, or a config dict from `actfn.serialize`.
        **params: the parameters to bind (numbers or arrays).

    Returns:
        The activation with its parameters bound (an `actfn.Bound`, saved by its config).
    """
    config = {"name": identifier} if isinstance(identifier, str) else dict(identifier)
    found = actfn.get({**config, **params})
    return found if isinstance(found, Bound) else Bound(found)


def symbolic_call(name: str, arguments: dict):
    """An actfn activation applied to a KerasTensor (the functional API): an `Apply` node
    whose activation saves by its config."""
    x, params = arguments["x"], {k: v for k, v in arguments.items() if k != "x"}
    fn = actfn.spec(name).function
    return Apply(Bound(fn, **params) if params else fn)(x)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Apply(keras.layers.Layer):
    """A layer that applies one activation (a name, an actfn function or `activation(...)`
    result), with the output shape the activation gives: a gated unit halves its axis, where
    `keras.layers.Activation` and `Dense(activation=...)` assume the shape stays.

    `actfn.glu(keras_tensor)` and any actfn activation called on a KerasTensor make one.
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = keras.activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        # The batch axis (None) is given a size of 2 to trace the shape, then put back.
        known = tuple(2 if s is None else s for s in input_shape)
        out = jax.eval_shape(self.activation, jax.ShapeDtypeStruct(known, jnp.float32)).shape
        return tuple(None if s is None else o for s, o in zip(input_shape, out))

    def get_config(self):
        return {**super().get_config(), "activation": keras.activations.serialize(self.activation)}


def _channel_shape(input_shape, shared_axes) -> tuple:
    """A per-element parameter's shape: the input's without the batch axis, 1 on shared axes
    (as Keras' PReLU)."""
    shape = list(input_shape[1:])
    for axis in shared_axes or ():
        shape[axis - 1 if axis > 0 else axis] = 1
    if any(s is None for s in shape):
        raise ValueError(
            f"A learnable activation needs every non-batch axis to have a size (got input "
            f"shape {tuple(input_shape)}). Pass `shared_axes` for the axes of unknown size."
        )
    return tuple(shape)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Learnable(keras.layers.Layer):
    """Any actfn activation with its continuous parameters learned: snake's `a`, silu's
    `beta`, celu's `alpha`, softplus' `beta`, prelu's `alpha`, ...

    One weight per parameter, of the input's shape without the batch axis (1 along
    `shared_axes`), initialised to `initial` (default: the parameter's default). The
    gradients are actfn's hand-written ones, summed to each weight's shape.

    Args:
        activation: the activation's name.
        shared_axes: axes along which each parameter is shared (e.g. `[1, 2]` for one value
            per channel of an image).
        initial: a dict of initial values, parameter name to number.
        regularizer, constraint: applied to every parameter (Keras identifiers or objects).
    """

    def __init__(
        self,
        activation: str,
        shared_axes: Sequence[int] | None = None,
        initial: dict | None = None,
        regularizer=None,
        constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.entry = actfn.spec(activation)
        if not self.entry.params:
            raise ValueError(
                f"`actfn.{self.entry.name}` has no continuous parameter to learn. Pass it to "
                "`keras.layers.Activation` instead."
            )
        names = {p.name for p in self.entry.params}
        unknown = sorted(set(initial or {}) - names)
        if unknown:
            raise ValueError(
                f"`actfn.keras.Learnable`: `actfn.{self.entry.name}` has no parameter "
                f"{', '.join(f'`{u}`' for u in unknown)}. Its parameters are: "
                f"{', '.join(sorted(names))}."
            )
        self.shared_axes = None if shared_axes is None else list(shared_axes)
        self.initial = dict(initial or {})
        for p in self.entry.params:
            if p.name not in self.initial:
                if p.default is REQUIRED or p.default is None:
                    raise ValueError(
                        f"`actfn.keras.Learnable`: give an initial value for "
                        f"`{self.entry.name}`'s `{p.name}`, which has no default "
                        f'(`initial={{"{p.name}": ...}}`).'
                    )
                self.initial[p.name] = float(p.default)
        self.regularizer = keras.regularizers.get(regularizer)
        self.constraint = keras.constraints.get(constraint)

    def build(self, input_shape):
        shape = _channel_shape(input_shape, self.shared_axes)
        self.parameters = {
            name: self.add_weight(
                shape=shape,
                name=name,
                initializer=keras.initializers.Constant(value),
                regularizer=self.regularizer,
                constraint=self.constraint,
            )
            for name, value in self.initial.items()
        }

    def call(self, inputs):
        return self.entry.function(inputs, **self.parameters)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "activation": self.entry.name,
            "shared_axes": self.shared_axes,
            "initial": self.initial,
            "regularizer": keras.regularizers.serialize(self.regularizer),
            "constraint": keras.constraints.serialize(self.constraint),
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class PReLU(keras.layers.Layer):
    """Parametric relu, as `keras.layers.PReLU`: x for x >= 0, alpha * x below, alpha learned
    per element (shared along `shared_axes`), with actfn's hand-written gradient.

    Args:
        alpha_initializer: the initializer of alpha (Keras' default: zeros).
        alpha_regularizer, alpha_constraint: Keras identifiers or objects.
        shared_axes: axes along which alpha is shared.
    """

    def __init__(
        self,
        alpha_initializer="zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = keras.initializers.get(alpha_initializer)
        self.alpha_regularizer = keras.regularizers.get(alpha_regularizer)
        self.alpha_constraint = keras.constraints.get(alpha_constraint)
        if shared_axes is None or isinstance(shared_axes, (list, tuple)):
            self.shared_axes = None if shared_axes is None else list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape):
        self.alpha = self.add_weight(
            shape=_channel_shape(input_shape, self.shared_axes),
            name="alpha",
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
        )

    def call(self, inputs):
        return actfn.prelu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": keras.initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": keras.regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": keras.constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class _Fixed(keras.layers.Layer):
    """A layer applying one actfn activation with fixed parameters (its config)."""

    function: Callable
    defaults: dict

    def __init__(self, **kwargs):
        params = {k: kwargs.pop(k) for k in list(kwargs) if k in self.defaults}
        super().__init__(**kwargs)
        self.params = {**self.defaults, **params}

    def call(self, inputs):
        return self.function(inputs, **self.params)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), **self.params}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LeakyReLU(_Fixed):
    """Leaky relu, as `keras.layers.LeakyReLU`, whose default slope is 0.3 (Keras' function
    `leaky_relu` and actfn's use 0.2 and 0.01)."""

    function = staticmethod(actfn.leaky_relu)
    defaults = {"negative_slope": 0.3}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ReLU(_Fixed):
    """Relu with Keras' `max_value`, `negative_slope` and `threshold`, as `keras.layers.ReLU`."""

    function = staticmethod(actfn.relu)
    defaults = {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ELU(_Fixed):
    """Exponential linear unit, as `keras.layers.ELU`."""

    function = staticmethod(actfn.elu)
    defaults = {"alpha": 1.0}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Softmax(keras.layers.Layer):
    """Softmax along `axis`, as `keras.layers.Softmax`; a Keras mask leaves entries out."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def call(self, inputs, mask=None):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        where = None if mask is None else jnp.asarray(mask, dtype=bool)
        if where is not None and where.ndim < inputs.ndim:
            where = jnp.broadcast_to(jnp.expand_dims(where, -1), inputs.shape)
        return actfn.softmax(inputs, axis=axis, where=where)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


keras.saving.register_keras_serializable(package=PACKAGE)(Bound)
for _entry in list(REGISTRY.values()):
    register(_entry.function, _entry.name, [a for a, n in ALIASES.items() if n == _entry.name])
del _entry
