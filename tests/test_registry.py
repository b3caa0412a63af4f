"""The catalogue and the registry: names people use, configs, agreement with jax.nn and the docs."""

import functools
import json
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import bound

import actfn
from actfn.__main__ import catalogue_rows, kink_rows, markdown, variants

README = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
CATALOGUE = (pathlib.Path(__file__).parent.parent / "docs" / "catalogue.md").read_text()

# Every activation name of jax.nn, Keras 3 and PyTorch's torch.nn.functional (as spelled there).
NAMES_PEOPLE_USE = {
    "jax.nn": [
        "celu",
        "elu",
        "gelu",
        "glu",
        "hard_sigmoid",
        "hard_silu",
        "hard_swish",
        "hard_tanh",
        "identity",
        "leaky_relu",
        "log1mexp",
        "log_sigmoid",
        "log_softmax",
        "mish",
        "relu",
        "relu6",
        "selu",
        "sigmoid",
        "silu",
        "soft_sign",
        "softmax",
        "softplus",
        "sparse_plus",
        "sparse_sigmoid",
        "squareplus",
        "swish",
        "tanh",
    ],
    "keras": [
        "celu",
        "elu",
        "exponential",
        "gelu",
        "glu",
        "hard_shrink",
        "hard_sigmoid",
        "hard_silu",
        "hard_swish",
        "hard_tanh",
        "leaky_relu",
        "linear",
        "log_sigmoid",
        "log_softmax",
        "mish",
        "relu",
        "relu6",
        "selu",
        "sigmoid",
        "silu",
        "soft_shrink",
        "softmax",
        "softplus",
        "softsign",
        "sparse_plus",
        "sparse_sigmoid",
        "sparsemax",
        "squareplus",
        "swish",
        "tanh",
        "tanh_shrink",
        "threshold",
    ],
    "torch": [
        "celu",
        "elu",
        "gelu",
        "glu",
        "hardshrink",
        "hardsigmoid",
        "hardswish",
        "hardtanh",
        "leaky_relu",
        "logsigmoid",
        "log_softmax",
        "mish",
        "prelu",
        "relu",
        "relu6",
        "rrelu",
        "selu",
        "sigmoid",
        "silu",
        "softmax",
        "softmin",
        "softplus",
        "softshrink",
        "softsign",
        "tanh",
        "tanhshrink",
        "threshold",
    ],
}


@pytest.mark.parametrize("library", sorted(NAMES_PEOPLE_USE))
def test_every_name_people_use_resolves(library):
    for name in NAMES_PEOPLE_USE[library]:
        fn = actfn.get(name)
        assert fn is getattr(actfn, name), name
        assert fn is actfn.spec(name).function


def test_every_alias_is_the_same_object_as_its_canonical_function():
    for name in actfn.names():
        entry = actfn.spec(name)
        assert getattr(actfn, name) is entry.function
        for alias in entry.aliases:
            assert getattr(actfn, alias) is entry.function, alias
            assert actfn.get(alias) is entry.function


def test_all_names_and_readme_agree():
    names = set(actfn.names())
    aliases = {a for n in names for a in actfn.spec(n).aliases}
    api = {
        "Bound",
        "activation_parameter_names",
        "rational_init",
        "weight_decay_mask",
        "define",
        "deserialize",
        "forward",
        "forward_mode",
        "get",
        "names",
        "register",
        "serialize",
        "spec",
        "Report",
        "verify",
    }
    assert set(actfn.__all__) == names | aliases | api
    assert len(actfn.__all__) == len(set(actfn.__all__))
    in_readme = re.findall(
        r"^\| `(\w+)` \|", README.split("## Catalogue")[1].split("##")[0], flags=re.M
    )
    assert in_readme == actfn.names()
    assert markdown(catalogue_rows()) in CATALOGUE
    assert markdown(kink_rows()) in CATALOGUE


@pytest.mark.parametrize("name", actfn.names())
def test_every_definition_states_its_facts(name):
    entry = actfn.spec(name)
    assert entry.formula and entry.derivative and entry.use
    assert callable(getattr(jax.nn.initializers, entry.initializer))
    textbook = entry.paper == "none (textbook)"
    assert textbook or (re.search(r"\d{4}", entry.paper) and "http" in entry.paper)
    assert entry.saves in ("x", "y", None)
    doc = entry.function.__doc__
    for part in ("f(x)  =", "f'(x) =", "Output range", "Initializer", "References:"):
        assert part in doc, part  # (the template's order: tests/test_docs.py)
    assert entry.reference is not None


@pytest.mark.parametrize("name", actfn.names())
def test_output_stays_in_the_stated_range(name):
    # The stated range is for the default parameters (required ones take the example's value).
    lo, hi = actfn.spec(name).output_range
    x = jnp.concatenate([jnp.linspace(-50.0, 50.0, 2002), jnp.array([-1e4, 1e4])])
    if name == "log1mexp":
        x = jnp.abs(x) + 1e-3
    y = np.asarray(bound(name, variants(name)[0])(x.reshape(2, -1)))
    assert np.all(y >= lo - 1e-6 * max(1.0, abs(lo))) and np.all(y <= hi + 1e-6 * max(1, abs(hi)))


def test_get_from_names_configs_callables_and_none():
    assert actfn.get(None) is actfn.identity
    assert actfn.get("ReLU") is actfn.relu
    custom = jnp.sin
    assert actfn.get(custom) is custom
    elu = actfn.get({"name": "elu", "alpha": 0.5})
    x = jnp.linspace(-3.0, 3.0, 13)
    np.testing.assert_array_equal(elu(x), actfn.elu(x, alpha=0.5))
    assert actfn.get({"name": "elu"}) is actfn.elu


def test_unknown_names_and_parameters_are_clear_errors():
    with pytest.raises(ValueError, match="no activation named `rleu`.*`relu`"):
        actfn.get("rleu")
    with pytest.raises(ValueError, match="`actfn.elu` has no parameter `beta`.*alpha"):
        actfn.get({"name": "elu", "beta": 2.0})
    with pytest.raises(ValueError, match="without a `name` key"):
        actfn.get({"alpha": 0.5})
    with pytest.raises(TypeError, match="cannot make an activation"):
        actfn.get(3)
    with pytest.raises(ValueError, match="actfn.register"):
        actfn.serialize(jnp.sin)


@pytest.mark.parametrize("name", actfn.names())
def test_config_round_trips_through_json(name):
    entry = actfn.spec(name)
    config = {"name": name, **dict(entry.example)}
    fn = actfn.get(config)
    saved = json.loads(json.dumps(actfn.serialize(fn)))
    assert saved == config
    restored = actfn.deserialize(saved)
    x = (
        jnp.linspace(0.1, 3.0, 12).reshape(2, 6)
        if name == "log1mexp"
        else jnp.linspace(-3.0, 3.0, 12).reshape(2, 6)
        if entry.elementwise or name not in ("glu", "swiglu", "geglu", "reglu")
        else jnp.linspace(-3.0, 3.0, 24).reshape(4, 6)
    )
    np.testing.assert_array_equal(restored(x), fn(x))


def test_array_parameters_round_trip_through_json():
    fn = functools.partial(actfn.prelu, alpha=np.array([0.1, 0.2, 0.3], dtype=np.float32))
    saved = json.loads(json.dumps(actfn.serialize(fn)))
    x = -jnp.ones((2, 3))
    np.testing.assert_allclose(actfn.deserialize(saved)(x), fn(x))


def _away_from_kinks(name, x):
    entry = actfn.spec(name)
    pv = entry.default_values
    keep = np.ones(x.shape, bool)
    for kink in entry.kinks:
        keep &= np.abs(x - kink.at(pv)) > 1e-3
    return x[keep]


JAX_NN = [n for n in actfn.names() if actfn.spec(n).jax_nn]


@pytest.mark.parametrize("name", JAX_NN)
def test_agrees_with_jax_nn(name):
    entry = actfn.spec(name)
    theirs = functools.partial(getattr(jax.nn, entry.jax_nn), **dict(entry.jax_nn_kwargs))
    ours = entry.function
    lo = 0.05 if name == "log1mexp" else -8.0
    x = _away_from_kinks(name, np.linspace(lo, 8.0, 641))
    if not entry.elementwise:
        x = x[: 640 // 8 * 8].reshape(8, -1)
    x = jnp.asarray(x, dtype=jnp.float32)
    np.testing.assert_allclose(ours(x), theirs(x), rtol=2e-6, atol=2e-7)
    g = jnp.asarray(np.random.default_rng(0).normal(size=ours(x).shape), dtype=jnp.float32)
    ours_dx = jax.vjp(ours, x)[1](g)[0]
    theirs_dx = jax.vjp(theirs, x)[1](g)[0]
    np.testing.assert_allclose(ours_dx, theirs_dx, rtol=2e-5, atol=2e-6)


def test_softmax_where_mask_like_jax_nn_and_a_fully_masked_row_is_defined():
    x = jnp.asarray(np.random.default_rng(1).normal(size=(3, 5)), dtype=jnp.float32)
    where = jnp.array([[True, False, True, True, False], [False] * 5, [True] * 5])
    for ours, theirs, empty in (
        (actfn.softmax, jax.nn.softmax, 0.0),
        (actfn.log_softmax, jax.nn.log_softmax, -np.inf),
    ):
        y = ours(x, where=where)
        ref = theirs(x, where=where)
        np.testing.assert_allclose(
            y[0][np.asarray(where[0])], ref[0][np.asarray(where[0])], rtol=1e-6
        )
        np.testing.assert_allclose(y[2], ref[2], rtol=1e-6)
        assert np.all(np.asarray(y[1]) == empty)
        g = jax.grad(
            lambda z, f=ours: jnp.sum(jnp.where(where, f(z, where=where), 0.0) * jnp.arange(5.0))
        )(x)
        assert bool(jnp.all(jnp.isfinite(g)))
        assert np.all(np.asarray(g[1]) == 0.0) and np.all(
            np.asarray(g[0][~np.asarray(where[0])]) == 0
        )


@pytest.mark.parametrize("axis", [0, 1, 2, -1, (0, 2), (1, 2)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_vjp_over_any_axes_matches_finite_differences(name, axis, x64):
    fn = functools.partial(actfn.spec(name).function, axis=axis)
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=(2, 3, 4)))
    g = jnp.asarray(rng.normal(size=(2, 3, 4)))
    dx = jax.vjp(fn, x)[1](g)[0]
    h = 1e-6
    fd = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        e = jnp.zeros(x.shape).at[idx].set(h)
        fd[idx] = float(jnp.vdot(g, fn(x + e) - fn(x - e))) / (2 * h)
    np.testing.assert_allclose(dx, fd, rtol=1e-7, atol=1e-8)
    ref = actfn.spec(name).reference
    np.testing.assert_allclose(fn(x), ref(x, axis=axis), rtol=1e-13, atol=1e-15)


def test_rrelu_with_a_key_draws_slopes_in_range_and_differentiates_through_them():
    key = jax.random.PRNGKey(3)
    x = -jnp.linspace(0.5, 3.0, 64)
    y = actfn.rrelu(x, 0.1, 0.3, key=key)
    slopes = np.asarray(y / x)
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.01
    np.testing.assert_array_equal(actfn.rrelu(x, 0.1, 0.3, key=key), y)  # same key, same draw
    # The draw depends on the key and the shape, so it is checked on the whole array: the
    # backward rule regenerates the same slopes, and the slope-range gradients match finite
    # differences with the same key.
    with jax.enable_x64(True):
        x64 = jnp.asarray(x, dtype=jnp.float64)

        def total(z, lower, upper):
            return jnp.sum(actfn.rrelu(z, lower, upper, key=key))

        dx, dlower, dupper = jax.grad(total, argnums=(0, 1, 2))(x64, 0.1, 0.3)
        np.testing.assert_allclose(dx, actfn.rrelu(x64, 0.1, 0.3, key=key) / x64, rtol=1e-14)
        h = 1e-6
        np.testing.assert_allclose(
            dlower, (total(x64, 0.1 + h, 0.3) - total(x64, 0.1 - h, 0.3)) / (2 * h), rtol=1e-8
        )
        np.testing.assert_allclose(
            dupper, (total(x64, 0.1, 0.3 + h) - total(x64, 0.1, 0.3 - h)) / (2 * h), rtol=1e-8
        )


def test_selu_constants_have_full_precision():
    from actfn._activations.rectifiers import SELU_ALPHA, SELU_SCALE

    assert SELU_ALPHA == float("1.6732632423543772848170429916717")
    assert SELU_SCALE == float("1.0507009873554804934193349852946")


def test_relu_accepts_keras_alpha_spelling():
    x = jnp.linspace(-2.0, 2.0, 9)
    np.testing.assert_array_equal(actfn.relu(x, alpha=0.1), actfn.relu(x, negative_slope=0.1))
    np.testing.assert_array_equal(
        actfn.relu(x, alpha=0.0, max_value=None, threshold=0), actfn.relu(x)
    )
    with pytest.raises(TypeError, match="older spelling"):
        actfn.relu(x, alpha=0.1, negative_slope=0.1)


def test_relu_has_keras_semantics():
    x = jnp.array([-2.0, 0.5, 1.0, 1.5, 3.0, 8.0])
    y = actfn.relu(x, negative_slope=0.1, max_value=6.0, threshold=1.0)
    np.testing.assert_allclose(y, [-0.3, -0.05, 0.0, 1.5, 3.0, 6.0], rtol=1e-6)


def test_kink_rule_values():
    g = jax.vmap(jax.grad(actfn.relu))(jnp.zeros(1))
    assert float(g[0]) == 0.0
    assert float(jax.grad(actfn.leaky_relu)(0.0)) == np.float32(0.01)
    assert float(jax.grad(lambda x: actfn.elu(x, 2.0))(0.0)) == 1.0
    assert float(jax.grad(lambda x: actfn.elu(x, 0.5))(0.0)) == 0.5
    assert float(jax.grad(actfn.hard_silu)(3.0)) == 1.0
