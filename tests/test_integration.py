"""actfn inside real models: Flax NNX and Linen, Equinox, Optax, and JAX's transformations."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import linen, nnx

import actfn

STEPS = 200


@pytest.fixture(autouse=True)
def standard_promotion():
    # Optax and Flax mix Python floats with int32 step counts: they are not written for the
    # strict promotion the rest of the suite runs actfn under.
    with jax.numpy_dtype_promotion("standard"):
        yield


# Two models that differ only in whose activation they call agree step by step to float32
# rounding, which the optimiser amplifies a little over the run: within 1e-3 relative, or
# 1e-4 of the initial loss once the loss is near 0.
CURVE_RTOL, CURVE_ATOL_OF_INITIAL = 1e-3, 1e-4


def _data(n=128, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = np.sin(x @ rng.normal(size=(features, 1))).astype(np.float32)
    return jnp.asarray(x), jnp.asarray(y)


def _jax_nn_prelu(x, alpha):
    return jax.nn.leaky_relu(x, negative_slope=alpha)


def _plain_snake(x, a):
    return x + jnp.sin(a * x) ** 2 / a


# --- Flax NNX --------------------------------------------------------------------------------


class NnxMLP(nnx.Module):
    def __init__(self, hidden_act, prelu, rngs):
        self.l1 = nnx.Linear(4, 32, rngs=rngs)
        self.l2 = nnx.Linear(32, 32, rngs=rngs)
        self.out = nnx.Linear(32, 1, rngs=rngs)
        self.alpha = nnx.Param(jnp.full((32,), 0.25))  # a learnable per-channel prelu slope
        self.hidden_act, self.prelu = hidden_act, prelu

    def __call__(self, x):
        h = self.hidden_act(self.l1(x))
        h = self.prelu(self.l2(h), self.alpha[...])
        return self.out(h)


def _train_nnx(hidden_act, prelu):
    model = NnxMLP(hidden_act, prelu, nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    x, y = _data()

    @nnx.jit
    def step(model, optimizer):
        def loss_fn(model):
            return jnp.mean((model(x) - y) ** 2)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    return np.array([float(step(model, optimizer)) for _ in range(STEPS)]), model


def test_flax_nnx_model_with_learnable_prelu_trains_like_jax_nn():
    ours, model = _train_nnx(actfn.gelu, actfn.prelu)
    theirs, _ = _train_nnx(lambda z: jax.nn.gelu(z, approximate=False), _jax_nn_prelu)
    assert ours[-1] < 0.2 * ours[0]
    np.testing.assert_allclose(ours, theirs, rtol=CURVE_RTOL, atol=CURVE_ATOL_OF_INITIAL * ours[0])
    assert not np.allclose(model.alpha[...], 0.25)  # the slope was learned


# --- Flax Linen ------------------------------------------------------------------------------


class LinenMLP(linen.Module):
    act: object
    snake: object

    @linen.compact
    def __call__(self, x):
        a = self.param("snake_a", lambda key: jnp.ones((32,)))  # learnable frequency
        h = self.act(linen.Dense(32)(x))
        h = self.snake(linen.Dense(32)(h), a)
        return linen.Dense(1)(h)


def _train_linen(act, snake):
    model = LinenMLP(act, snake)
    x, y = _data()
    params = model.init(jax.random.key(0), x)
    tx = optax.adam(1e-2)
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean((model.apply(p, x) - y) ** 2))(params)
        updates, state = tx.update(grads, state)
        return optax.apply_updates(params, updates), state, loss

    losses = []
    for _ in range(STEPS):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    return np.array(losses), params


def test_flax_linen_model_with_learnable_snake_trains_like_jax_nn():
    ours, params = _train_linen(actfn.get("silu"), actfn.snake)
    theirs, _ = _train_linen(jax.nn.silu, _plain_snake)
    assert ours[-1] < 0.2 * ours[0]
    np.testing.assert_allclose(ours, theirs, rtol=CURVE_RTOL, atol=CURVE_ATOL_OF_INITIAL * ours[0])
    assert not np.allclose(params["params"]["snake_a"], 1.0)


# --- Equinox -------------------------------------------------------------------------------


def test_equinox_mlp_takes_actfn_activations():
    x, _ = _data()
    mlp = eqx.nn.MLP(
        4,
        3,
        16,
        2,
        activation=actfn.gelu,
        final_activation=actfn.get("tanh"),
        key=jax.random.key(0),
    )
    reference = eqx.nn.MLP(
        4,
        3,
        16,
        2,
        activation=lambda z: jax.nn.gelu(z, approximate=False),
        final_activation=jnp.tanh,
        key=jax.random.key(0),
    )
    np.testing.assert_allclose(jax.vmap(mlp)(x), jax.vmap(reference)(x), rtol=1e-5, atol=1e-6)
    grads = eqx.filter_grad(lambda m: jnp.sum(jax.vmap(m)(x)[:, 0]))(mlp)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree_util.tree_leaves(grads))


def test_equinox_softmax_head_is_applied_to_the_output_not_per_neuron():
    # eqx.nn.MLP applies final_activation to each output neuron separately, so a softmax there
    # would see scalars (jax.nn.softmax silently returns all ones); actfn says so instead.
    with pytest.raises(ValueError, match="applies it to each output separately"):
        mlp = eqx.nn.MLP(
            4,
            3,
            16,
            2,
            activation=actfn.gelu,
            final_activation=actfn.get("softmax"),
            key=jax.random.key(0),
        )
        mlp(jnp.ones(4))
    mlp = eqx.nn.MLP(4, 3, 16, 2, activation=actfn.gelu, key=jax.random.key(0))
    x, _ = _data()
    probs = actfn.softmax(jax.vmap(mlp)(x))
    np.testing.assert_allclose(jnp.sum(probs, axis=-1), 1.0, rtol=1e-6)


class Snake(eqx.Module):
    a: jax.Array

    def __call__(self, x):
        return actfn.snake(x, self.a)


def test_equinox_learnable_activation_per_neuron():
    mlp = eqx.nn.MLP(4, 1, 16, 2, activation=Snake(jnp.array(1.0)), key=jax.random.key(1))
    assert mlp.activation.a.shape == (2, 16)  # vmapped: one frequency per neuron and layer
    x, y = _data()

    def loss(m):
        return jnp.mean((jax.vmap(m)(x) - y) ** 2)

    grads = eqx.filter_grad(loss)(mlp)
    assert grads.activation.a.shape == (2, 16)
    assert float(jnp.max(jnp.abs(grads.activation.a))) > 0


# --- configs ---------------------------------------------------------------------------------


def test_model_config_with_activation_names_round_trips_through_json():
    config = {
        "widths": [4, 8, 1],
        "activation": actfn.serialize(actfn.get({"name": "leaky_relu", "negative_slope": 0.2})),
        "final": "sigmoid",
    }
    restored = json.loads(json.dumps(config))

    def build(cfg):
        act, final = actfn.get(cfg["activation"]), actfn.get(cfg["final"])
        return eqx.nn.MLP(
            cfg["widths"][0],
            cfg["widths"][-1],
            cfg["widths"][1],
            1,
            activation=act,
            final_activation=final,
            key=jax.random.key(2),
        )

    x, _ = _data()
    np.testing.assert_array_equal(jax.vmap(build(config))(x), jax.vmap(build(restored))(x))


# --- transformations -------------------------------------------------------------------------


def test_vmap_with_batched_parameters():
    x = jnp.linspace(-2.0, 2.0, 12).reshape(3, 4)
    alphas = jnp.array([0.1, 0.5, 1.5])
    y = jax.vmap(actfn.elu)(x, alphas)
    np.testing.assert_allclose(y, jnp.stack([actfn.elu(x[i], alphas[i]) for i in range(3)]))
    g = jax.vmap(jax.grad(lambda xi, a: jnp.sum(actfn.elu(xi, a)), argnums=1))(x, alphas)
    assert g.shape == (3,)


def test_cond_checkpoint_and_donation():
    x = jnp.linspace(-3.0, 3.0, 16)

    def f(z, flag):
        return jax.lax.cond(flag, actfn.silu, actfn.tanh, z)

    np.testing.assert_allclose(f(x, True), actfn.silu(x))
    np.testing.assert_allclose(
        jax.grad(lambda z: jnp.sum(f(z, False)))(x), jax.grad(lambda z: jnp.sum(actfn.tanh(z)))(x)
    )
    for policy in (
        None,
        jax.checkpoint_policies.nothing_saveable,
        jax.checkpoint_policies.everything_saveable,
    ):
        remat = jax.checkpoint(lambda z: jnp.sum(actfn.gelu(actfn.elu(z)) ** 2), policy=policy)
        np.testing.assert_allclose(
            jax.grad(remat)(x),
            jax.grad(lambda z: jnp.sum(actfn.gelu(actfn.elu(z)) ** 2))(x),
            rtol=1e-6,
        )
    step = jax.jit(
        lambda z: z - 0.1 * jax.grad(lambda w: jnp.sum(actfn.mish(w)))(z), donate_argnums=0
    )
    expected = x - 0.1 * jax.grad(lambda w: jnp.sum(actfn.mish(w)))(x)
    np.testing.assert_allclose(step(jnp.array(x)), expected)


def test_jacrev_hessian_and_grad_of_grad():
    x = jnp.linspace(-2.0, 2.0, 5)
    jac = jax.jacrev(actfn.softplus)(x)
    np.testing.assert_allclose(jac, jnp.diag(jax.nn.sigmoid(x)), rtol=1e-6, atol=1e-7)
    hess = jax.hessian(lambda z: jnp.sum(actfn.softplus(z)))(x)
    s = jax.nn.sigmoid(x)
    np.testing.assert_allclose(hess, jnp.diag(s * (1 - s)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["relu", "gelu", "softmax"])
def test_get_works_wherever_a_callable_is_taken(name):
    act = actfn.get(name)
    layer = linen.Dense(8)
    params = layer.init(jax.random.key(0), jnp.ones((2, 4)))
    out = act(layer.apply(params, jnp.ones((2, 4))))
    assert out.shape == (2, 8)
