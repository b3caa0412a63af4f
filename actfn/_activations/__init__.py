"""The activations, a family per module; importing this package fills the registry.

The families are imported in catalogue order, so that `actfn.names()` lists them that way.
"""
# ruff: noqa: I001, F401

from actfn._activations import rectifiers
from actfn._activations import sigmoids
from actfn._activations import softplus
from actfn._activations import self_gated
from actfn._activations import periodic
from actfn._activations import rational
from actfn._activations import gated
from actfn._activations import normalizers
