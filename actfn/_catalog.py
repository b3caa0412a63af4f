"""Imports the families in catalogue order, so that the registry lists them that way."""

from actfn import _rectifiers, _smooth, _gated, _normalizers  # noqa: F401
