"""actfn in Keras 3: saved models reload as actfn, bit for bit, in a fresh process; layers."""

import json
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import actfn
import actfn._bench

keras = pytest.importorskip("actfn.keras").keras  # sets Keras' JAX backend first

HERE = Path(__file__).parent
ENV = {**os.environ, "KERAS_BACKEND": "jax"}


@pytest.fixture(autouse=True)
def standard_promotion():
    # Keras' own code mixes dtypes; the suite's strict promotion is for actfn's.
    with jax.numpy_dtype_promotion("standard"):
        yield


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras")
    run = subprocess.run(
        [sys.executable, str(HERE / "keras_roundtrip.py"), "save", str(folder)],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return folder


def test_saved_models_reload_bit_identical_in_a_fresh_process(saved):
    # Every registered activation by name, a parameterised one, a `define`d one, the
    # functional API and each layer; float32 and mixed_bfloat16; outputs and gradients.
    run = subprocess.run(
        [sys.executable, str(HERE / "keras_roundtrip.py"), "load", str(saved)],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("ok")


def test_a_saved_model_records_actfn_names_never_bare_keras_names(saved):
    config = json.loads(zipfile.ZipFile(saved / "float32.keras").read("config.json"))
    recorded = [
        layer["config"]["activation"]
        for layer in config["config"]["layers"]
        if "activation" in layer["config"] and layer["class_name"] == "Dense"
    ]
    names = {a["config"] for a in recorded if isinstance(a, dict) and a["class_name"] == "function"}
    assert {f"actfn>{n}" for n in ("gelu", "relu", "silu", "mish", "leaky_relu", "snake")} <= names
    assert all(n.startswith("actfn>") for n in names)
    assert {"name": "elu", "alpha": 0.5} in [a["config"] for a in recorded if isinstance(a, dict)]
    assert [a for a in recorded if isinstance(a, str)] == ["linear"] * recorded.count("linear")


def test_loading_without_actfn_fails_loudly_naming_the_activation(saved):
    code = "import keras, sys; keras.models.load_model(sys.argv[1])"
    run = subprocess.run(
        [sys.executable, "-c", code, str(saved / "float32.keras")],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert run.returncode != 0
    # Keras' own message: no actfn code runs in a process that has not imported it.
    assert "Could not locate function 'actfn>" in run.stderr
    assert "imported" in run.stderr


def test_every_activation_and_alias_serialises_as_actfn():
    # actfn's own (other tests register theirs later; those need `actfn.keras.register`).
    for name in [n for n in actfn.names() if n in actfn.__all__]:
        fn = actfn.spec(name).function
        assert keras.activations.serialize(fn)["config"] == f"actfn>{name}"
        assert keras.activations.get(f"actfn>{name}") is fn
        for alias in actfn.spec(name).aliases:
            assert keras.activations.get(f"actfn>{alias}") is fn
    # Bare names resolve to actfn only where Keras has no function of that name.
    assert keras.activations.get("snake") is actfn.snake
    assert keras.activations.get("gelu") is not actfn.gelu


def test_a_bound_activation_round_trips_through_keras_serialisation():
    act = actfn.keras.activation("leaky_relu", negative_slope=0.2)
    config = keras.activations.serialize(act)
    assert config["registered_name"] == "actfn>Bound"
    again = keras.activations.deserialize(config)
    x = jnp.linspace(-2.0, 2.0, 9)
    assert np.array_equal(again(x), actfn.leaky_relu(x, 0.2))


def test_keras_variables_are_accepted_as_parameters_and_inputs():
    alpha = keras.Variable(np.full((3,), 0.25, np.float32))
    x = jnp.array([[-1.0, 2.0, -4.0]])
    assert np.array_equal(actfn.prelu(x, alpha), actfn.prelu(x, jnp.full((3,), 0.25)))
    assert np.array_equal(actfn.relu(keras.Variable(x)), actfn.relu(x))


def test_keras_spellings_of_parameters():
    x = jnp.array([-0.7, -0.3, 0.3, 0.7])
    assert np.array_equal(actfn.hard_shrink(x, threshold=0.5), actfn.hard_shrink(x, lambd=0.5))
    assert np.array_equal(actfn.soft_shrink(x, threshold=0.5), actfn.soft_shrink(x, 0.5))
    fn = actfn.get({"name": "threshold", "threshold": 0.0, "default_value": -1.0})
    assert np.array_equal(fn(x), jnp.where(x > 0.0, x, -1.0))
    with pytest.raises(ValueError, match="`default_value` is another spelling of `value`"):
        actfn.get({"name": "threshold", "threshold": 0.0, "default_value": -1.0, "value": 1.0})


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "sparsemax"])
def test_a_normaliser_over_a_size_one_axis_warns(name):
    fn = actfn.spec(name).function
    with pytest.warns(UserWarning, match="has size 1: the output does not depend on the input"):
        fn(jnp.ones((4, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(jnp.ones((4, 2)))
        fn(jnp.ones((0, 1)))  # nothing to normalise


def test_dense_of_one_unit_with_softmax_warns():
    with pytest.warns(UserWarning, match="actfn.sigmoid"):
        keras.layers.Dense(1, activation=actfn.softmax)(np.ones((2, 3), np.float32))


def test_prelu_shares_alpha_along_shared_axes_and_learns_it():
    layer = actfn.keras.PReLU(shared_axes=[1])
    x = np.random.default_rng(0).normal(size=(5, 4, 3)).astype(np.float32)
    layer(x)
    assert tuple(layer.alpha.shape) == (1, 3)

    def loss(alpha):
        y, _ = layer.stateless_call([alpha], [], x)
        return jnp.sum(y)

    grad = jax.grad(loss)(layer.alpha.value)
    assert np.allclose(grad, np.minimum(x, 0.0).sum(axis=(0, 1), keepdims=True)[0], rtol=1e-6)


def test_a_learnable_layer_checks_its_parameters():
    with pytest.raises(ValueError, match="has no continuous parameter to learn"):
        actfn.keras.Learnable("tanh")
    with pytest.raises(ValueError, match="has no parameter `b`"):
        actfn.keras.Learnable("snake", initial={"b": 1.0})
    with pytest.raises(ValueError, match="give an initial value"):
        actfn.keras.Learnable("prelu")


def test_layers_follow_keras_defaults():
    x = np.array([[-2.0, 7.0]], np.float32)
    assert np.allclose(actfn.keras.LeakyReLU()(x), [[-0.6, 7.0]])
    assert np.allclose(actfn.keras.ReLU(max_value=6.0)(x), [[0.0, 6.0]])
    assert np.allclose(actfn.keras.ELU()(x), [[np.expm1(-2.0), 7.0]])
    assert np.allclose(actfn.keras.Softmax()(x).sum(), 1.0)
    glu = actfn.keras.Apply("actfn>glu")
    assert glu.compute_output_shape((None, 8)) == (None, 4)


@pytest.mark.parametrize("name", sorted(actfn._bench.keras_counterparts()))
def test_keras_train_step_memory_is_never_more_than_with_keras_activations(name):
    # Keras' own compiled train step (XLA's figure, deterministic), 8 x Dense(1024).
    ours, theirs = (actfn._bench.keras_training_memory(f) for f in _PAIRS[name])
    assert ours <= theirs, f"{ours / 2**20:.1f} MiB against {theirs / 2**20:.1f} MiB"


_PAIRS = actfn._bench.keras_counterparts()
