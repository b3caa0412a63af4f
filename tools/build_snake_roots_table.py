"""Builds the table of snake's df/da zeros beyond the first (run with the test extra).

    python tools/build_snake_roots_table.py

writes actfn/_numerics/snake_roots.npy (read by actfn/_numerics/periodic.py): the roots u_k of
tan u = 2u in (k pi, (k + 1/2) pi), k = 1 .. COUNT, as hi + lo (two float64s, together to about
2^-106 of the root), from mpmath at 40 digits. df/da = sin(u) (2u cos u - sin u) / a^2 (u = ax)
is 0 there, and its terms cancel next to each root: snake computes it from d = u - u_k, which
needs u_k to twice the dtype's precision. The roots have no closed form, and the series in 1 /
((2k + 1) pi) that snake uses beyond the table converges too slowly for small k, so they are
data, like gelu's float64 table. tests/test_accuracy.py checks entries against mpmath.
"""

import pathlib

import mpmath as mp
import numpy as np

COUNT = 4096
OUT = pathlib.Path(__file__).resolve().parent.parent / "actfn" / "_numerics" / "snake_roots.npy"


def entry(k: int) -> tuple[float, float]:
    m = (k + mp.mpf(1) / 2) * mp.pi
    root = mp.findroot(lambda u: 2 * u * mp.cos(u) - mp.sin(u), m - 1 / (2 * m))
    hi = float(root)
    return hi, float(root - hi)


def main() -> None:
    mp.mp.dps = 40
    table = np.array([entry(k) for k in range(1, COUNT + 1)], dtype=np.float64).T
    np.save(OUT, table)
    print(f"wrote {OUT} {table.shape}")


if __name__ == "__main__":
    main()
