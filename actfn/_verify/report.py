"""The tolerances of `actfn.verify`, and the checks and report it returns."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

# Tolerances, in units of the tested dtype's machine epsilon (see the module docstring).
TOL_VALUE = 8.0


TOL_GRAD = 16.0


TOL_SECOND = 64.0


TOL_LINEARITY = 4.0


# Finite differences: the step is FD_STEP * max(|x|, 1), halved twice for Richardson.
FD_STEP = 2.0**-12


# A point is non-smooth when the one-sided slopes disagree beyond smooth behaviour by this much
# relative to the derivative's scale.
KINK_THRESHOLD = 1e-5


DEFAULT_DTYPES = ("float32", "float64")


@dataclasses.dataclass(frozen=True)
class Check:
    """One check of one function in one dtype."""

    name: str
    dtype: str
    passed: bool
    max_abs: float = 0.0
    max_rel: float = 0.0
    score: float = 0.0  # max over points of error / allowed error; <= 1 passes
    worst_input: float | None = None
    got: float | None = None
    expected: float | None = None
    points: int = 0
    skipped: int = 0
    note: str = ""
    # What failed the check, where it is not an error against a tolerance (the shapes of a
    # cotangent, one-sided derivatives, an exception): replaces the error figure in messages.
    figure: str = ""

    def message(self, function: str) -> str:
        where = ""
        if self.worst_input is not None:
            where = f" at x = {self.worst_input!r}"
            if self.got is not None:
                where += f": got {self.got!r}, expected {self.expected!r}"
            if not self.figure:
                where += f" (abs error {self.max_abs:.3g}, {self.score:.3g}x the tolerance)"
        figure = f": {self.figure}" if self.figure else ""
        note = f"; {self.note}" if self.note else ""
        return f"{function}: check `{self.name}` failed in {self.dtype}{where}{figure}{note}"


@dataclasses.dataclass
class Report:
    """What `actfn.verify` found: one `Check` per check and dtype; `str()` gives a table."""

    function: str
    checks: list[Check] = dataclasses.field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def worst(self, keep: str | Callable[[str], bool]) -> Check | None:
        """The worst check (failed first, then highest score) among those whose name starts
        with `keep`, or for which `keep(name)` is true."""
        match = keep if callable(keep) else (lambda name: name.startswith(keep))
        found = [c for c in self.checks if match(c.name)]
        return max(found, key=lambda c: (not c.passed, c.score)) if found else None

    def __str__(self) -> str:
        rows = [
            (
                "check",
                "dtype",
                "status",
                "score",
                "max abs",
                "max rel",
                "worst x",
                "points",
                "skipped",
                "note",
            )
        ]
        for c in self.checks:
            rows.append(
                (
                    c.name,
                    c.dtype,
                    "ok" if c.passed else "FAIL",
                    f"{c.score:.3g}",
                    f"{c.max_abs:.3g}",
                    f"{c.max_rel:.3g}",
                    "" if c.worst_input is None else f"{c.worst_input:.6g}",
                    str(c.points),
                    str(c.skipped),
                    "; ".join(t for t in (c.figure, c.note) if t),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [f"verify {self.function}: {'passed' if self.passed else 'FAILED'}"]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines)
