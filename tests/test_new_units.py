"""The activations modern models use that the core libraries do not ship: their own facts,
names in circulation, and learnable parameters trained under Optax."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import actfn
from actfn._activations.rational import DENOMINATOR, NUMERATOR, RATIONAL_INITS

GRID = np.linspace(-3.0, 3.0, 20001)
TARGETS = {
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "gelu": lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
    "tanh": np.tanh,
    "swish": lambda x: x / (1 + np.exp(-x)),
}
# The largest errors on [-3, 3] the initialisations promise (rational.py's comment).
INIT_ERRORS = {"leaky_relu": 0.064, "gelu": 7.9e-4, "tanh": 2.8e-6, "swish": 9.0e-7}


@pytest.mark.parametrize("name", sorted(RATIONAL_INITS))
def test_rational_initialisations_approximate_their_activation(name, x64):
    coefficients = actfn.rational_init(name)
    assert list(coefficients) == [*NUMERATOR, *DENOMINATOR]
    got = np.asarray(actfn.rational(jnp.asarray(GRID), **coefficients))
    assert np.max(np.abs(got - TARGETS[name](GRID))) <= INIT_ERRORS[name]
    # The least-squares fit they come from (b1 = b3 = 0), refitted here.
    f = TARGETS[name](GRID)
    design = np.concatenate(
        [GRID[:, None] ** np.arange(6), -f[:, None] * GRID[:, None] ** np.array([2, 4])], axis=1
    )
    fit, *_ = np.linalg.lstsq(design, f, rcond=None)
    stored = np.asarray(RATIONAL_INITS[name])[[0, 1, 2, 3, 4, 5, 7, 9]]
    assert np.allclose(stored, fit, rtol=1e-6, atol=1e-9)


def test_rational_init_names_its_choices():
    with pytest.raises(ValueError, match="`leaky_relu`, `gelu`, `tanh`, `swish`"):
        actfn.rational_init("relu")


def test_rational_takes_the_kink_rule_where_its_denominator_is_zero():
    # S = b1 x: |S| has a kink at 0, where f' is a1 - a0 |b1| or a1 + a0 |b1|.
    c = {**actfn.rational_init("gelu"), "a0": 0.5, "a1": 0.2, "b1": 1.0}
    slope = jax.grad(lambda x: actfn.rational(x, **c))(0.0)
    assert slope == pytest.approx(-0.3)  # the one of smaller magnitude: 0.2 - 0.5 against 0.7


def test_snake_beta_is_snake_when_alpha_equals_beta():
    x = jnp.linspace(-30.0, 30.0, 4001)
    for a in (0.5, 1.0, 3.0):
        # XLA compiles the two graphs apart, and where a x rounds (a = 3) their last bits differ
        # in the window where x and sin(ax)^2 / a cancel (each within 2.6 ulp of mpmath's).
        ours, snakes = np.asarray(actfn.snake_beta(x, a, a)), np.asarray(actfn.snake(x, a))
        ulps = np.abs(ours - snakes) / np.spacing(np.abs(snakes))
        assert np.max(ulps) <= (0 if a in (0.5, 1.0) else 4)
        g1 = jax.grad(lambda x, a=a: actfn.snake_beta(x, a, a).sum())(x)
        assert np.array_equal(g1, jax.grad(lambda x, a=a: actfn.snake(x, a).sum())(x))


def test_snake_beta_at_zero_frequency_is_the_identity():
    x = jnp.linspace(-5.0, 5.0, 101)
    assert np.array_equal(actfn.snake_beta(x, 0.0, 1.0), x)
    assert np.array_equal(jax.grad(lambda x: actfn.snake_beta(x, 0.0, 1.0).sum())(x), 1.0 + 0 * x)


def test_xielu_curvatures_stay_positive_whatever_the_raw_parameters(x64):
    x = jnp.linspace(0.1, 3.0, 30)
    for raw in (-30.0, -1.0, 0.0, 5.0):
        second = jax.vmap(jax.grad(jax.grad(lambda x, raw=raw: actfn.xielu(x, raw, raw))))(x)
        assert np.all(second > 0)
        left = jax.vmap(jax.grad(jax.grad(lambda x, raw=raw: actfn.xielu(x, raw, raw))))(-x)
        assert np.all(left > 0)


def test_quick_gelu_is_x_sigmoid_1702_x(x64):
    x = jnp.linspace(-20.0, 20.0, 2001)
    assert np.allclose(actfn.quick_gelu(x), x / (1 + np.exp(-1.702 * np.asarray(x))), rtol=1e-14)


@pytest.mark.parametrize("name", ["gelu_new", "gelu_pytorch_tanh", "gelu_fast"])
def test_hugging_face_tanh_gelus_are_the_tanh_form(name, x64):
    x = np.linspace(-8.0, 8.0, 1601)
    fn = actfn.get(name)
    assert np.array_equal(fn(jnp.asarray(x)), actfn.gelu(jnp.asarray(x), approximate=True))
    # Hugging Face's formulas, in float64, where they do not cancel (left of -2 they round
    # towards 0 what the tanh form keeps).
    x = x[x > -2.0]
    new = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    fast = 0.5 * x * (1 + np.tanh(x * 0.7978845608 * (1 + 0.044715 * x * x)))
    assert np.allclose(fn(jnp.asarray(x)), new, rtol=1e-12, atol=1e-300)
    assert np.allclose(fn(jnp.asarray(x)), fast, rtol=1e-9, atol=1e-300)
    assert actfn.serialize(fn) == {"name": "gelu", "approximate": True}


def test_torch_spellings_of_gelus_approximation():
    x = jnp.linspace(-4.0, 4.0, 81)
    assert np.array_equal(actfn.gelu(x, approximate="tanh"), actfn.gelu(x, approximate=True))
    assert np.array_equal(actfn.gelu(x, approximate="none"), actfn.gelu(x))
    with pytest.raises(ValueError, match='True, False, "tanh" or "none"'):
        actfn.gelu(x, approximate="fast")


def test_plain_renamings_are_aliases():
    assert actfn.get("relu2") is actfn.squared_relu is actfn.relu_squared
    assert actfn.get("quick_gelu") is actfn.quick_gelu


class _Net(nnx.Module):
    """Three learnable activations, their parameters named after the activations' own."""

    def __init__(self, rngs):
        self.l1 = nnx.Linear(2, 16, rngs=rngs)
        self.l2 = nnx.Linear(16, 16, rngs=rngs)
        self.l3 = nnx.Linear(16, 16, rngs=rngs)
        self.out = nnx.Linear(16, 1, rngs=rngs)
        init = actfn.rational_init("gelu")
        self.rational = nnx.Dict({k: nnx.Param(jnp.full((16,), v)) for k, v in init.items()})
        self.xielu = nnx.Dict(
            alpha_p=nnx.Param(jnp.full((16,), actfn.spec("xielu").defaults["alpha_p"])),
            alpha_n=nnx.Param(jnp.full((16,), actfn.spec("xielu").defaults["alpha_n"])),
        )
        self.star = nnx.Dict(s=nnx.Param(jnp.full((16,), 0.8944)), b=nnx.Param(jnp.zeros(16)))

    def __call__(self, x):
        h = actfn.rational(self.l1(x), **{k: v[...] for k, v in self.rational.items()})
        h = actfn.xielu(self.l2(h), **{k: v[...] for k, v in self.xielu.items()})
        h = actfn.star_relu(self.l3(h), **{k: v[...] for k, v in self.star.items()})
        return self.out(h)


def test_learnable_rational_xielu_and_star_relu_train_under_optax_with_a_decay_mask():
    with jax.numpy_dtype_promotion("standard"):  # Flax's and Optax's own code mixes dtypes
        _train()


def _train():
    graph, params = nnx.split(_Net(nnx.Rngs(0)), nnx.Param)
    mask = actfn.weight_decay_mask(params)
    decayed = {
        jax.tree_util.keystr(path): flag for path, flag in jax.tree_util.tree_leaves_with_path(mask)
    }
    activation = {p for p in decayed if any(f"'{n}'" in p for n in ("rational", "xielu", "star"))}
    assert len(activation) == 10 + 2 + 2
    assert not any(decayed[p] for p in activation)
    assert all(decayed[p] for p in decayed if p not in activation)

    x = jax.random.uniform(jax.random.key(1), (256, 2), minval=-2.0, maxval=2.0)
    y = jnp.sin(2.0 * x[:, :1]) * jnp.cos(x[:, 1:])
    tx = optax.adamw(3e-3, weight_decay=0.1, mask=mask)

    @jax.jit
    def step(params, state):
        def loss(params):
            return jnp.mean((nnx.merge(graph, params)(x) - y) ** 2)

        value, grads = jax.value_and_grad(loss)(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    state, start = tx.init(params), None
    for _ in range(300):
        new, state, value = step(params, state)
        start = value if start is None else start
        for leaf in jax.tree.leaves(new):
            assert np.all(np.isfinite(leaf))
        params = new
    assert value < 0.2 * start
    # The activations' parameters were learned (their gradients are the hand-written ones).
    trained = nnx.merge(graph, params)
    assert not np.allclose(trained.rational["a2"][...], actfn.rational_init("gelu")["a2"])
    assert not np.allclose(trained.xielu["alpha_p"][...], actfn.spec("xielu").defaults["alpha_p"])
    assert not np.allclose(trained.star["s"][...], 0.8944)
