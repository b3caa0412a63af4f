"""Run by test_keras.py in fresh subprocesses: `save DIR` trains and saves Keras models that use
actfn, `load DIR` reloads them and checks they compute bit for bit what was saved."""

import os
import sys

os.environ["KERAS_BACKEND"] = "jax"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import actfn  # noqa: E402
import actfn.keras  # noqa: E402
from actfn._wiring import REQUIRED  # noqa: E402
from actfn.keras import keras  # noqa: E402

WIDTH = 8


def my_swish(x, beta):
    return x * jax.nn.sigmoid(beta * x)


def my_swish_derivative(x, beta):
    s, t = jax.nn.sigmoid(beta * x), jax.nn.sigmoid(-beta * x)
    return s * (1 + beta * x * t), x * x * s * t


# A user's own activation, defined (and registered) the same way in both processes.
swish = actfn.keras.register(
    actfn.register(actfn.define(my_swish, my_swish_derivative, params={"beta": 1.0}), "my_swish")
)


def by_name():
    """Every registered activation that takes no required parameter, by its Keras name."""
    return [
        n for n in actfn.names() if all(p.default is not REQUIRED for p in actfn.spec(n).params)
    ]


def build(policy):
    keras.config.set_dtype_policy(policy)
    inputs = keras.Input((WIDTH,))
    branches = []
    for name in by_name():
        if not actfn.spec(name).elementwise and actfn.spec(name).options[0][0] == "axis":
            if name in ("glu", "swiglu", "geglu", "reglu"):  # halve the axis: not in Dense
                branches.append(
                    keras.layers.Activation("linear")(
                        actfn.keras.Apply(f"actfn>{name}")(keras.layers.Dense(2 * WIDTH)(inputs))
                    )
                )
                continue
        if name == "log1mexp":  # defined for x > 0
            positive = keras.layers.Dense(WIDTH, activation="actfn>exponential")(inputs)
            branches.append(keras.layers.Activation("actfn>log1mexp")(positive))
        else:
            branches.append(keras.layers.Dense(WIDTH, activation=f"actfn>{name}")(inputs))
    dense = keras.layers.Dense(WIDTH)
    h = dense(inputs)
    branches += [
        keras.layers.Dense(WIDTH, activation="snake")(inputs),  # bare, as Keras has no snake
        keras.layers.Dense(WIDTH, activation=actfn.keras.activation("elu", alpha=0.5))(inputs),
        keras.layers.Dense(WIDTH, activation=actfn.get({"name": "celu", "alpha": 0.7}))(inputs),
        keras.layers.Dense(WIDTH, activation=swish)(inputs),
        actfn.tanh(dense(inputs)),  # the functional API
        actfn.elu(h, alpha=0.3),
        actfn.keras.PReLU(alpha_initializer=keras.initializers.Constant(0.25))(h),
        actfn.keras.LeakyReLU()(h),
        actfn.keras.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5)(h),
        actfn.keras.ELU(alpha=0.5)(h),
        actfn.keras.Softmax()(h),
        actfn.keras.Learnable("snake", initial={"a": 0.5})(h),
        actfn.keras.Learnable("silu", shared_axes=[1])(h),
        actfn.keras.Learnable("softplus", constraint="non_neg")(h),
    ]
    outputs = keras.layers.Dense(1)(keras.layers.Concatenate()(branches))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, WIDTH)).astype("float32"), rng.normal(size=(64, 1)).astype(
        "float32"
    )


def outputs_and_gradients(model):
    x, y = data()
    trainable = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]

    def loss(trainable):
        pred, _ = model.stateless_call(trainable, fixed, x)
        return jnp.mean((pred.astype(jnp.float32) - y) ** 2)

    grads = jax.jit(jax.grad(loss))(trainable)
    # What jax.grad differentiates: every actfn call is a custom_vjp_call, whose backward rule
    # is the hand-written one.
    jaxpr = str(jax.make_jaxpr(loss)(trainable))
    # bfloat16 widened to float32 exactly (NumPy's files do not keep bfloat16).
    pred = np.asarray(model.predict(x, verbose=0)).astype(np.float32)
    return pred, [np.asarray(g).astype(np.float32) for g in grads], jaxpr


def main(mode, folder):
    for policy in ("float32", "mixed_bfloat16"):
        path = os.path.join(folder, f"{policy}.keras")
        if mode == "save":
            model = build(policy)
            model.fit(*data(), epochs=2, batch_size=16, verbose=0)
            model.save(path)
            pred, grads, _ = outputs_and_gradients(model)
            np.savez(path + ".npz", pred, *grads)
            continue
        keras.config.set_dtype_policy(policy)
        model = keras.models.load_model(path)
        pred, grads, jaxpr = outputs_and_gradients(model)
        saved = np.load(path + ".npz")
        assert np.isfinite(saved["arr_0"]).all(), policy
        assert np.array_equal(pred, saved["arr_0"]), policy
        assert len(grads) == len(saved.files) - 1
        for i, g in enumerate(grads):
            assert np.array_equal(g, saved[f"arr_{i + 1}"]), (policy, i)
        # The gradient goes through actfn's hand-written rules, not Keras' autodiff.
        assert jaxpr.count("custom_vjp_call") >= len(by_name()), jaxpr.count("custom_vjp_call")
        acts = [getattr(layer, "activation", None) for layer in model.layers]
        for name in by_name():
            assert actfn.spec(name).function in acts, name
        assert swish in acts
        assert any(
            isinstance(a, actfn.Bound) and a.get_config() == {"name": "elu", "alpha": 0.5}
            for a in acts
        )
        kinds = {type(layer).__name__ for layer in model.layers}
        assert {"PReLU", "LeakyReLU", "ReLU", "ELU", "Softmax", "Learnable"} <= kinds
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
