"""The derivative checker: `actfn.verify` and the report it returns.

Every check is elementwise, at every input point (no random projection), and judged against
float64 truth: `jax.grad` of a plain reference formula, and Richardson-extrapolated central
finite differences of the function itself.  Low-precision inputs are never differenced in low
precision: the point is rounded to the dtype, and the truth is computed in float64 at that
rounded point.

Error measure.  A derivative (or value) `got` at x is compared with the truth `t` as

    |got - t| <= TOL * (eps * (|t| + scale) + tiny) + fd_error

where eps and tiny are the tested dtype's, `scale` is the largest |t| between 0 and x (so a
derivative computed from a saved output, which is limited in the tails, is judged relative to
the derivative's size where the function is not flat, while a steep tail such as exp's left one
is still judged on its own size), and `fd_error` is the finite-difference error estimate (the
difference of two Richardson levels plus rounding), zero for the `jax.grad` oracle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from actfn._verify.along_axis import _check_axis
from actfn._verify.crash import crashed
from actfn._verify.elementwise import _check_elementwise
from actfn._verify.report import DEFAULT_DTYPES, Check as Check, Report as Report
from actfn._verify.target import _resolve, default_points as default_points


def verify(
    fn: Callable,
    reference: Callable | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    points: Sequence[float] | np.ndarray | None = None,
    dtypes: Sequence[Any] | None = None,
    order: int = 2,
    kinks: Mapping[float, float] | Sequence[float] | None = None,
    axis: int | None = None,
    raise_on_failure: bool = True,
) -> Report:
    """Check a function's hand-written derivative at every point, against float64 oracles.

    Works on actfn's activations (their reference, kinks and parameters are known), on
    `actfn.define` results, and on any `jax.custom_vjp` function written by hand.

    Args:
        fn: the activation, called as `fn(x, **params)`.
        reference: a plain formula `reference(x, **params)` whose `jax.grad` in float64 is the
            oracle; None uses the registered one, if any.  Finite differences of `fn` itself
            are always an oracle too, and the reference is checked against them.
        params: parameter values.  Floats are differentiated (their gradients are checked);
            anything else (ints, bools, strings, None) is passed through unchanged.
        points: input points (default: a grid from -1e3 to 1e3, dense near 0).
        dtypes: dtypes to test (default float32 and float64); float16 and bfloat16 are judged
            against float64 truth at the rounded points.
        order: 2 also checks the second derivative (grad of grad).
        kinks: the non-differentiable points, as `{x: derivative there}` to check that
            derivative exactly, or a list of locations.  Points within the finite-difference
            step of a kink are skipped and counted; undeclared kinks are reported with the
            one-sided derivatives measured there.
        axis: declares that `fn` works along this axis of its input (a softmax), and passes it
            as `axis=` where `fn` takes one: it is fed arrays of shape (4, 6) and its
            vector-Jacobian products are checked.  Left out, a function that is not
            elementwise (its value on an array differs from its values element by element) is
            found and checked the same way.
        raise_on_failure: raise `AssertionError` naming the first failed check.

    Returns:
        A `Report`; `str(report)` is a table, `report.passed` the verdict.  An exception from
        `fn` or its backward rule (JAX's own type errors included) is a failed check `runs`
        that says what went wrong; the other checks of that dtype are then not run.

    Raises:
        TypeError: when `reference` takes neither the parameters' names nor one argument per
            parameter.
        AssertionError: with `raise_on_failure`, naming every failed check.
    """
    target = _resolve(fn, reference, params, kinks, axis)
    report = Report(target.name)
    dtypes = tuple(dtypes) if dtypes is not None else DEFAULT_DTYPES
    for dtype in dtypes:
        dtype = jnp.dtype(dtype)
        try:
            if target.elementwise:
                pts = np.asarray(
                    points if points is not None else default_points(target.domain),
                    dtype=np.float64,
                ).reshape(-1)
                report.checks += _check_elementwise(target, pts, dtype, order)
            else:
                report.checks += _check_axis(target, dtype, order)
        except Exception as err:  # noqa: BLE001 - every failure of `fn` is a failed check
            report.checks.append(crashed(target, dtype, err))
    if raise_on_failure and not report.passed:
        raise AssertionError("\n".join(c.message(target.name) for c in report.failures))
    return report
