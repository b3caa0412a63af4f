"""Builds float64 gelu's table of the Gaussian tail (run with the test extra).

    python tools/build_gaussian_tail_table.py

writes actfn/_numerics/gaussian_tail_float64.npy (read by actfn/_numerics/gaussian.py): for g =
k / 128, 0 <= g <= 38, Phi(-g) 2^128 as hi + lo (two float64s, together to about 2^-106 of the
value) and the hazard phi(g) / Phi(-g), each from mpmath at 40 digits. float64's own erfc gives
Phi(-g) to about 2^-52 only, and computing 106-bit entries at import (the float32 table's way,
from math.erfc) would take seconds, so float64's entries are data. tests/test_accuracy.py checks
entries against mpmath.
"""

import pathlib

import mpmath as mp
import numpy as np

STEP, TOP, SCALE = 128, 38, 2**128
OUT = (
    pathlib.Path(__file__).resolve().parent.parent
    / "actfn"
    / "_numerics"
    / "gaussian_tail_float64.npy"
)


def entry(k: int) -> tuple[float, float, float]:
    g = mp.mpf(k) / STEP
    tail = mp.ncdf(-g)
    scaled = tail * SCALE
    hi = float(scaled)
    lo = float(scaled - hi)
    hazard = float(mp.npdf(g) / tail)
    return hi, lo, hazard


def main() -> None:
    mp.mp.dps = 40
    table = np.array([entry(k) for k in range(TOP * STEP + 1)], dtype=np.float64).T
    np.save(OUT, table)
    print(f"wrote {OUT} {table.shape}")


if __name__ == "__main__":
    main()
