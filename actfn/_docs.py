"""The generated parts of README.md and docs/: tables from the registry and from measured data.

A page holds hand-written prose and generated blocks, each between `<!-- actfn:NAME -->` and
`<!-- /actfn:NAME -->`.  `python -m actfn docs` rewrites every block from the registry (the
catalogue, the kinks, each activation's reference entry, verify's tolerances) and from the
measured data in `docs/data/` (`python -m actfn accuracy --json` and `python -m actfn bench
--json` write it); `python -m actfn docs --check` only names the pages that differ, and
tests/test_docs.py fails on any.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

from actfn._registry import names, spec
from actfn._wiring import REQUIRED

ROOT = Path(__file__).resolve().parent.parent


def pages(root: Path = ROOT) -> list[str]:
    """README.md and every page of docs/ (the checkout's, not an installed copy's)."""
    return ["README.md", *sorted(str(p.relative_to(root)) for p in (root / "docs").glob("*.md"))]


ACCURACY_DATA = "docs/data/accuracy.json"
BENCH_DATA = ("docs/data/bench-cache.json", "docs/data/bench-memory.json")
KERAS_DATA = "docs/data/bench-keras.json"
_BLOCK = re.compile(
    r"(<!-- actfn:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /actfn:(?P=name) -->)", re.S
)


def markdown(rows: list[tuple[str, ...]], code_first: bool = True) -> str:
    """A markdown table; the first row is the header, the first column in backticks."""

    def cell(v):
        return v.replace("|", "\\|")

    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += [
        "| "
        + " | ".join(cell(v) if i or not code_first else f"`{v}`" for i, v in enumerate(r))
        + " |"
        for r in rows[1:]
    ]
    return "\n".join(lines)


def _range(entry) -> str:
    lo, hi = entry.output_range
    return f"[{lo:.4g}, {hi:.4g}]"


def catalogue_rows() -> list[tuple[str, ...]]:
    """The catalogue: name, aliases, formula, range, use, initializer, one row per activation."""
    rows = [("name", "aliases", "formula", "range", "use", "initializer")]
    for name in names():
        entry = spec(name)
        rows.append(
            (
                name,
                ", ".join(entry.aliases),
                entry.formula,
                _range(entry),
                entry.use,
                entry.initializer,
            )
        )
    return rows


def kink_rows() -> list[tuple[str, ...]]:
    """Every kink of every activation (default parameters) and the derivative chosen there."""
    rows = [("activation", "kink and derivative chosen there")]
    for name in names():
        for kink in spec(name).kinks:
            rows.append((name, kink.text))
    return rows


def _compact_catalogue() -> str:
    rows = [("name", "aliases", "f(x)")]
    rows += [(n, ", ".join(spec(n).aliases), spec(n).formula) for n in names()]
    return markdown(rows)


def _reference_entry(name: str) -> str:
    entry = spec(name)
    lines = [f"### `{name}`", "", entry.function.__doc__.split("\n", 1)[0], ""]
    facts = [
        ("f(x)", f"`{entry.formula}`"),
        ("f'(x)", f"`{entry.derivative}`"),
        ("range", _range(entry) + " (default parameters)"),
    ]
    if entry.aliases:
        facts.append(("aliases", ", ".join(f"`{a}`" for a in entry.aliases)))
    for p in entry.params:
        default = "required" if p.default is REQUIRED else repr(p.default)
        valid = f", {p.valid_text}" if p.valid_text else ""
        facts.append(("parameter", f"`{p.name}` (default {default}{valid}; differentiable)"))
    for option, default in entry.options:
        facts.append(("option", f"`{option}` (default {default!r}; static)"))
    kinks = "; ".join(k.text for k in entry.kinks) or "none (differentiable everywhere)"
    facts += [
        ("kinks", kinks if entry.elementwise else "-"),
        ("backward keeps", f"`{entry.saves}`" if entry.saves else "nothing"),
        ("use", entry.use),
        ("initializer", f"`jax.nn.initializers.{entry.initializer}`"),
    ]
    if entry.jax_nn:
        kwargs = ", ".join(f"{k}={v!r}" for k, v in entry.jax_nn_kwargs)
        facts.append(
            ("jax.nn", f"`jax.nn.{entry.jax_nn}`" + (f" with `{kwargs}`" if kwargs else ""))
        )
    facts.append(("reference", entry.paper))
    lines += [markdown([("", ""), *facts], code_first=False).replace("|  |  |\n|---|---|\n", "")]
    if entry.notes:
        lines += ["", entry.notes]
    return "\n".join(lines)


def _reference() -> str:
    return "\n\n".join(_reference_entry(n) for n in names())


def _tolerances() -> str:
    from actfn._verify import report

    rows = [
        ("constant", "value", "what it bounds"),
        (
            "TOL_VALUE",
            f"{report.TOL_VALUE:g}",
            "the value against the reference (and structure checks)",
        ),
        ("TOL_GRAD", f"{report.TOL_GRAD:g}", "first derivatives against both oracles"),
        ("TOL_SECOND", f"{report.TOL_SECOND:g}", "second derivatives (grad of grad)"),
        (
            "TOL_LINEARITY",
            f"{report.TOL_LINEARITY:g}",
            "the backward rule's linearity in the cotangent",
        ),
        (
            "FD_STEP",
            f"2^{math.log2(report.FD_STEP):g}",
            "the finite-difference step, times max(abs(x), 1)",
        ),
        (
            "KINK_THRESHOLD",
            f"{report.KINK_THRESHOLD:g}",
            "one-sided slopes further apart than this are a kink",
        ),
    ]
    return markdown(rows)


def _provenance(data: dict) -> str:
    """The line above a measured table: the command and the machine it ran on."""
    return f"`{data['command']}` on {data['machine']} (jax {data['jax']}, {data['backend']}):"


def _load(path: str):
    return json.loads((ROOT / path).read_text())


def _accuracy() -> str:
    from actfn import _accuracy

    data = _load(ACCURACY_DATA)
    head = _provenance(data)
    results = [_accuracy.Result(**r) for r in data["results"]]
    return head + "\n\n" + _accuracy.table(results)


def _bench(path: str) -> Callable[[], str]:
    def render() -> str:
        from actfn import _bench

        data = _load(path)
        head = _provenance(data)
        return head + "\n\n" + _bench.table([_bench.Row(**r) for r in data["rows"]])

    return render


def _api() -> str:
    """mkdocstrings directives: every activation, then the registry and verification tools."""
    tools = ("get", "spec", "names", "serialize", "deserialize", "register", "define")
    tools += ("forward_mode", "verify", "Report", "rational_init", "weight_decay_mask")
    # actfn.forward: its docstring (its members are the activations' twins, documented above).
    forward = "::: actfn.forward\n    options:\n      members: false"
    return "\n\n".join([*(f"::: actfn.{n}" for n in (*names(), *tools)), forward])


def _keras_bench() -> str:
    from actfn import _bench

    data = _load(KERAS_DATA)
    head = _provenance(data)
    return head + "\n\n" + _bench.keras_table([_bench.KerasRow(**r) for r in data["rows"]])


def _names_in_circulation() -> str:
    from actfn._registry import NAMES_IN_CIRCULATION

    rows = [("name", "where", "actfn")]
    for name, (config, where) in NAMES_IN_CIRCULATION.items():
        rows.append((name, where, f"`actfn.get({config!r})`"))
    for entry in (spec(n) for n in names()):
        for alias in entry.aliases:
            rows.append((alias, "an alias", f"`actfn.{entry.name}` (the same object)"))
    return markdown(rows)


BLOCKS: dict[str, Callable[[], str]] = {
    "names": _names_in_circulation,
    "bench-keras": _keras_bench,
    "api": _api,
    "catalogue": _compact_catalogue,
    "catalogue-full": lambda: markdown(catalogue_rows()),
    "kinks": lambda: markdown(kink_rows()),
    "reference": _reference,
    "tolerances": _tolerances,
    "accuracy": _accuracy,
    "bench-cache": _bench(BENCH_DATA[0]),
    "bench-memory": _bench(BENCH_DATA[1]),
}


def render(text: str) -> str:
    """The page with every generated block rewritten."""

    def block(match):
        name = match.group("name")
        if name not in BLOCKS:
            raise ValueError(f"A page has the block `{name}`, which `actfn._docs` cannot write.")
        return match.group(1) + BLOCKS[name]().rstrip("\n") + "\n" + match.group(4)

    return _BLOCK.sub(block, text)


def stale(root: Path = ROOT) -> list[str]:
    """The pages whose generated blocks differ from what `render` writes."""
    return [p for p in pages(root) if render((root / p).read_text()) != (root / p).read_text()]


def write(root: Path = ROOT) -> list[str]:
    """Rewrite every page's generated blocks; the pages that changed."""
    changed = stale(root)
    for p in changed:
        (root / p).write_text(render((root / p).read_text()))
    return changed
