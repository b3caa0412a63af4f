"""`actfn.forward`: every activation in forward mode under its own name, checked by JAX's own
`check_grads` in both modes to second order, for x and every continuous parameter."""

import functools

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
from conftest import all_variants, variant_id

import actfn

# Points a few hundredths or more from every kink of the variants below (0, +-1, +-3, 6,
# the shrinks' +-0.25, hard_tanh's -2 and 0.5, relu's 0.5 threshold).
GRID = np.array([-2.7, -1.3, -0.6, -0.17, 0.11, 0.37, 0.8, 1.6, 2.45, 3.4])


def _continuous(name, params):
    spec = actfn.spec(name)
    names = {p.name for p in spec.params}
    values = {**{p.name: p.default for p in spec.params}, **params}
    cont = {k: v for k, v in values.items() if k in names and isinstance(v, float)}
    static = {k: v for k, v in params.items() if k not in cont}
    return spec, cont, static


def _inputs(spec, cont):
    if not spec.elementwise:
        return np.random.default_rng(0).normal(scale=1.5, size=(2, 6))
    values = spec.default_values
    kinks = [k.at({**values, **cont}) for k in spec.kinks]
    far = np.all([np.abs(GRID - a) > 0.04 for a in kinks if np.isfinite(a)], axis=0)
    x = GRID[far] if kinks else GRID
    lo = spec.domain[0]
    return np.abs(x) + 0.1 if np.isfinite(lo) else x


def one_variant_each():
    """Each activation once, its parameters at the example's values (away from the defaults:
    every continuous parameter is an argument of `check_grads`), its options at their defaults;
    and gelu's tanh form, a second forward formula."""
    last = {}
    for name, params in all_variants():
        options = dict(actfn.spec(name).options)
        last[name] = {k: v for k, v in params.items() if k not in options}
    return [*last.items(), ("gelu", {"approximate": True})]


@pytest.mark.parametrize("item", one_variant_each(), ids=variant_id)
def test_check_grads_in_both_modes_to_second_order(item, x64):
    name, params = item
    spec, cont, static = _continuous(name, params)
    twin = getattr(actfn.forward, name)
    assert twin is actfn.forward_mode(spec.function)
    keys = list(cont)

    def f(x, *ps):
        return twin(x, **dict(zip(keys, ps)), **static)

    args = (jnp.asarray(_inputs(spec, cont)), *(jnp.asarray(v) for v in cont.values()))
    # A step of 1e-6 (JAX's default is 1e-4): its finite differences of rational's quintic are
    # otherwise off by 6e-5 relative.
    jax.test_util.check_grads(f, args, order=2, modes=("fwd", "rev"), eps=1e-6)


def test_the_namespace_is_the_registry_and_get_and_serialize_know_it():
    assert set(actfn.forward.__all__) == {*actfn.names(), *actfn._wiring.ALIASES}
    assert actfn.forward.swish is actfn.forward.silu is actfn.get("forward.silu")
    assert actfn.serialize(actfn.forward.tanh) == {"name": "forward.tanh"}
    bound = actfn.get({"name": "forward.elu", "alpha": 0.5})
    assert actfn.serialize(bound) == {"name": "forward.elu", "alpha": 0.5}
    x = jnp.linspace(-2.0, 2.0, 5)
    np.testing.assert_array_equal(bound(x), actfn.elu(x, 0.5))
    tangent = jax.jvp(bound, (x,), (jnp.ones_like(x),))[1]
    np.testing.assert_array_equal(
        tangent, jax.vmap(jax.grad(functools.partial(actfn.elu, alpha=0.5)))(x)
    )
    with pytest.raises(AttributeError, match="has no activation named `nope`"):
        _ = actfn.forward.nope


def test_an_activation_registered_later_is_in_the_namespace():
    cube = actfn.define(lambda x: x**3, lambda x: 3.0 * x**2, name="cube_forward_test")
    actfn.register(cube, "cube_forward_test")
    twin = actfn.forward.cube_forward_test
    assert jax.jvp(twin, (2.0,), (1.0,))[1] == 12.0
    assert jax.hessian(twin)(2.0) == 12.0
