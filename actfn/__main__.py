"""Command line: `python -m actfn [verify NAME... | list | bench | accuracy | docs]`.

Bare `python -m actfn` verifies every registered activation (its default parameters and its
example of non-default ones) on the default backend, prints a table and exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time

import jax

from actfn._docs import catalogue_rows, kink_rows, markdown
from actfn._registry import names, spec
from actfn._verify import Report, verify
from actfn._wiring import REQUIRED


def variants(name: str) -> list[dict]:
    """The parameter sets the main job verifies: the defaults and the spec's example.

    A parameter without a default (prelu's alpha) takes the example's value in both.
    """
    entry = spec(name)
    example = dict(entry.example)
    required = {p.name: example[p.name] for p in entry.params if p.default is REQUIRED}
    return [required, example] if example and example != required else [required]


def _worst(report: Report, keep) -> str:
    found = [c for c in report.checks if keep(c.name)]
    if not found:
        return "-"
    if all(c.points == 0 and c.passed for c in found):
        return "none"
    worst = report.worst(keep)
    return f"{worst.score:.2g}" + ("" if worst.passed else " FAIL")


_STRUCTURE = (
    "dtype and shape",
    "value_and_grad value equals the call",
    "zero cotangent gives zero",
    "linear in the cotangent",
    "deterministic",
    "gradient finite",
)
_COLUMNS = (
    ("vs grad(reference)", lambda n: n.endswith("vs reference") and n.startswith(("grad", "vjp"))),
    (
        "vs finite diff",
        lambda n: n.endswith("vs finite differences") and n.startswith(("grad", "vjp")),
    ),
    ("second order", lambda n: n.startswith("second order")),
    ("kinks", lambda n: n == "kinks"),
)


def verify_table(selected: list[str], dtypes=None, stream=sys.stdout) -> bool:
    """Verify the named activations, printing a row per variant as it finishes.

    Returns True when every check of every variant passed; failed reports go to stderr.
    """
    device = jax.devices()[0]
    print(
        f"actfn verify on {jax.default_backend()} ({device.device_kind}), dtypes "
        f"{', '.join(dtypes or ('float32', 'float64'))}; each number is the worst error as a "
        "fraction of its tolerance (<= 1 passes)",
        file=stream,
    )
    jobs = [(name, params) for name in selected for params in variants(name)]
    labels = [", ".join(f"{k}={v}" for k, v in p.items()) or "defaults" for _, p in jobs]
    header = ("activation", "parameters", *(c for c, _ in _COLUMNS), "structure", "result")
    widths = [
        max(len("activation"), *(len(n) for n, _ in jobs)),
        max(len("parameters"), *(len(label) for label in labels)),
        *(max(len(c), 7) for c, _ in _COLUMNS),
        9,
        6,
    ]

    def show(row):
        print(
            "  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip(),
            file=stream,
            flush=True,
        )

    show(header)
    passed = 0
    for (name, params), label in zip(jobs, labels):
        fn = spec(name).function
        start = time.perf_counter()
        report = verify(
            functools.partial(fn, **params) if params else fn, dtypes=dtypes, raise_on_failure=False
        )
        structure = all(c.passed for c in report.checks if c.name in _STRUCTURE)
        show(
            (
                name,
                label,
                *(_worst(report, keep) for _, keep in _COLUMNS),
                "ok" if structure else "FAIL",
                f"{'pass' if report.passed else 'FAIL'} ({time.perf_counter() - start:.1f}s)",
            )
        )
        if report.passed:
            passed += 1
        else:
            print(report, file=sys.stderr)
    print(f"{passed} of {len(jobs)} passed", file=stream)
    return passed == len(jobs)


def list_table(stream=sys.stdout, as_markdown: bool = False) -> None:
    rows = catalogue_rows()
    if as_markdown:
        print(markdown(rows), file=stream)
        print(file=stream)
        print(markdown(kink_rows()), file=stream)
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip(), file=stream)


def machine() -> str:
    """This machine in words, for the data behind docs/: the device and the host's cores."""
    device = jax.devices()[0]
    host = f"{os.cpu_count()}-core {platform.machine()} host"
    return host if device.platform == "cpu" else f"{device.device_kind}, {host}"


def _provenance(argv: list[str]) -> dict:
    return {
        "command": " ".join(["python -m actfn", *argv]),
        "machine": machine(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
    }


def _bench(args, argv) -> int:
    import dataclasses
    import json

    from actfn import _bench

    if args.keras:
        # Keras' own train step with actfn's activations against keras.activations'.
        keras_rows = _bench.keras_rows([spec(n).name for n in args.names] or None)
        print(
            f"actfn in Keras' train step on {jax.default_backend()}: temporary memory, MLP "
            f"{_bench.MLP_LAYERS}x{_bench.MLP_WIDTH}, batch {_bench.MLP_BATCH}, float32"
        )
        print(_bench.keras_table(keras_rows))
        if args.json:
            with open(args.json, "w") as out:
                rows = [dataclasses.asdict(r) for r in keras_rows]
                json.dump({**_provenance(_without_json(argv)), "rows": rows}, out, indent=1)
        return 0
    try:
        # gelu_tanh is gelu(approximate=True), a benchmark row of its own.
        selected = [n if n == "gelu_tanh" else spec(n).name for n in args.names] or None
        rows = _bench.run(
            selected,
            sizes=tuple(args.sizes),
            dtypes=tuple(args.dtypes),
            repeats=args.repeats,
            mlp_repeats=args.mlp_repeats,
            timing=not args.no_timing,
            against=args.against,
        )
    except (ValueError, KeyError) as err:
        print(f"python -m actfn bench: {err}", file=sys.stderr)
        return 2
    print(
        f"actfn bench on {jax.default_backend()} ({jax.devices()[0].device_kind}); MLP "
        f"{_bench.MLP_LAYERS}x{_bench.MLP_WIDTH}, batch {_bench.MLP_BATCH}, float32"
    )
    print(_bench.table(rows))
    if args.json:
        rows = [dataclasses.asdict(r) for r in rows]
        with open(args.json, "w") as out:
            json.dump({**_provenance(_without_json(argv)), "rows": rows}, out, indent=1)
    return 0


def _without_json(argv: list[str]) -> list[str]:
    """The command line without `--json FILE`: what the data records as its command."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--json":
            skip = True
        elif not a.startswith("--json="):
            out.append(a)
    return out


def _docs(check: bool) -> int:
    from actfn import _docs

    if check:
        pages = _docs.stale()
        for page in pages:
            print(f"{page} differs from what `python -m actfn docs` writes", file=sys.stderr)
        return 1 if pages else 0
    for page in _docs.write():
        print(f"rewrote {page}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="python -m actfn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")
    check = sub.add_parser("verify", help="verify named activations (default: all)")
    check.add_argument("names", nargs="*", help="activation names or aliases")
    check.add_argument(
        "--dtypes", nargs="+", default=None, help="dtypes to test (default: float32 float64)"
    )
    bench = sub.add_parser("bench", help="memory, bytes and time against jax.nn")
    bench.add_argument(
        "names",
        nargs="*",
        help="activations (default: all with a jax.nn twin; gelu_tanh is gelu(approximate=True))",
    )
    bench.add_argument("--against", default="jax.nn", help="the library to compare with")
    bench.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    bench.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        default=[1 << 16, 1 << 20, 1 << 24],
        help="array sizes for the timing (default 2^16 2^20 2^24)",
    )
    bench.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    bench.add_argument("--repeats", type=int, default=15)
    bench.add_argument("--mlp-repeats", type=int, default=5)
    bench.add_argument("--no-timing", action="store_true", help="only XLA's compiled figures")
    bench.add_argument(
        "--keras",
        action="store_true",
        help="the training-step memory of a Keras model, against keras.activations (needs the "
        "`keras` extra)",
    )
    accuracy = sub.add_parser("accuracy", help="errors in ulps against a 50-digit oracle")
    accuracy.add_argument(
        "names",
        nargs="*",
        help="activations (default: all with an oracle; gelu_tanh is gelu(approximate=True))",
    )
    accuracy.add_argument(
        "--dtypes", nargs="+", default=["float16", "bfloat16", "float32", "float64"]
    )
    accuracy.add_argument("--points", type=int, default=2000, help="grid points per dtype")
    accuracy.add_argument(
        "--exhaustive",
        action="store_true",
        help="every finite float16/bfloat16 value (slow: minutes)",
    )
    accuracy.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    docs = sub.add_parser("docs", help="rewrite the generated tables of README.md and docs/")
    docs.add_argument(
        "--check", action="store_true", help="only name the pages that differ (exit 1 if any)"
    )
    listing = sub.add_parser("list", help="print the catalogue")
    listing.add_argument(
        "--markdown",
        action="store_true",
        help="markdown tables (the catalogue and every kink), as in README",
    )
    args = parser.parse_args(argv)
    if args.command == "bench":
        return _bench(args, argv)
    if args.command == "docs":
        return _docs(args.check)
    if args.command == "accuracy":
        from actfn import _accuracy

        results = _accuracy.run(
            args.names or None, tuple(args.dtypes), args.points, args.exhaustive
        )
        print(
            f"actfn accuracy on {jax.default_backend()}: errors against mpmath at "
            f"{_accuracy.DIGITS} digits, {args.points} points per dtype over its finite range"
        )
        print(_accuracy.table(results))
        if args.json:
            import dataclasses
            import json

            payload = {
                **_provenance(_without_json(argv)),
                "results": [dataclasses.asdict(r) for r in results],
            }
            with open(args.json, "w") as out:
                json.dump(payload, out, indent=1)
        return 0
    if args.command == "list":
        list_table(as_markdown=args.markdown)
        return 0
    selected = names()
    dtypes = None
    if args.command == "verify":
        try:
            selected = [spec(n).name for n in args.names] or names()
        except ValueError as err:
            print(err, file=sys.stderr)
            return 2
        dtypes = args.dtypes
    return 0 if verify_table(selected, dtypes=dtypes) else 1


if __name__ == "__main__":
    sys.exit(main())
