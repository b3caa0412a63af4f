"""Imports the families in catalogue order, so that the registry lists them that way."""
# ruff: noqa: I001, F401

from actfn import _rectifiers
from actfn import _smooth
from actfn import _gated
from actfn import _normalizers
