"""Strictness for the whole suite: no implicit dtype promotion, float64 only where scoped."""

import functools
import os

# Each pytest-xdist worker is a JAX process: on a GPU none may take 75% of its memory up front.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402
import pytest  # noqa: E402

import actfn  # noqa: E402
from actfn.__main__ import variants  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")


def all_variants():
    """(name, parameters) for every registered activation: its defaults and its example."""
    return [(name, params) for name in actfn.names() for params in variants(name)]


def variant_id(item):
    name, params = item
    return name + "".join(f"-{k}={v}" for k, v in params.items())


def bound(name: str, params: dict):
    fn = actfn.spec(name).function
    return functools.partial(fn, **params) if params else fn


@functools.cache
def report_for(name: str, params_key: tuple, dtype: str) -> actfn.Report:
    """One verify run per activation, parameter set and dtype, shared by the property tests."""
    return actfn.verify(bound(name, dict(params_key)), dtypes=[dtype], raise_on_failure=False)


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield
