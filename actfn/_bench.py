"""The benchmark: training memory, saved residuals, bytes moved and time, actfn against jax.nn.

Memory and bytes come from XLA's compiled figures (`memory_analysis()`, `cost_analysis()`),
which are deterministic; time is measured interleaved (A B B A ...) in one process and reported
as the median ratio with its spread, because machines are shared and noisy.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from actfn._registry import names, spec
from actfn._wiring import REQUIRED

MLP_WIDTH, MLP_BATCH, MLP_LAYERS = 1024, 512, 8
FLOOR_BYTES_PER_ELEMENT = 16  # float32 forward+backward: read x and g, write y and dx


def counterparts(against: str = "jax.nn") -> dict[str, tuple[Callable, Callable]]:
    """name -> (actfn function, jax.nn function of the same meaning), for elementwise ones
    (`gelu_tanh`: both gelus with approximate=True)."""
    if against != "jax.nn":
        raise ValueError(f"`actfn.bench` compares against `jax.nn` only, got {against!r}.")
    pairs = {}
    for name in names():
        entry = spec(name)
        if entry.jax_nn and entry.elementwise:
            theirs = functools.partial(getattr(jax.nn, entry.jax_nn), **dict(entry.jax_nn_kwargs))
            pairs[name] = (entry.function, theirs)
    # gelu's tanh form too: jax.nn.gelu's default.
    pairs["gelu_tanh"] = (
        functools.partial(spec("gelu").function, approximate=True),
        functools.partial(jax.nn.gelu, approximate=True),
    )
    return pairs


def _compiled(fn, *shapes):
    return jax.jit(fn).lower(*shapes).compile()


def mlp_loss(act: Callable) -> Callable:
    """The loss of the README's MLP: `MLP_LAYERS` square layers, each followed by `act`."""

    def loss(ws, x):
        h = x
        for w in ws:
            h = act(h @ w)
        return jnp.sum(h * h)

    return loss


def training_memory(act: Callable, dtype=jnp.float32) -> int:
    """Temporary bytes of the compiled gradient step of the README's MLP using `act`."""

    ws = [jax.ShapeDtypeStruct((MLP_WIDTH, MLP_WIDTH), dtype) for _ in range(MLP_LAYERS)]
    x = jax.ShapeDtypeStruct((MLP_BATCH, MLP_WIDTH), dtype)
    return int(_compiled(jax.grad(mlp_loss(act)), ws, x).memory_analysis().temp_size_in_bytes)


def residual_bytes_per_element(act: Callable, n: int = 4096, dtype=jnp.float32) -> float:
    """Bytes `jax.vjp` keeps for the backward pass, per input element."""
    x = jnp.linspace(-3.0, 3.0, n, dtype=dtype)
    _, vjp = jax.vjp(act, x)
    leaves = [leaf for leaf in jax.tree_util.tree_leaves(vjp) if hasattr(leaf, "nbytes")]
    return sum(leaf.nbytes for leaf in leaves if leaf.size >= n) / n


def residual_arrays(act: Callable, n: int = 4096, dtype=jnp.float32) -> int:
    """How many input-sized arrays `jax.vjp` keeps for the backward pass."""
    x = jnp.linspace(-3.0, 3.0, n, dtype=dtype)
    _, vjp = jax.vjp(act, x)
    return sum(
        1 for leaf in jax.tree_util.tree_leaves(vjp) if hasattr(leaf, "size") and leaf.size >= n
    )


def _fwd_bwd(act):
    def step(x, g):
        y, vjp = jax.vjp(act, x)
        return y, vjp(g)[0]

    return step


def bytes_moved_per_element(act: Callable, n: int = 1 << 20, dtype=jnp.float32) -> float:
    """`cost_analysis()` bytes accessed per element by a jitted forward+backward (y, dx).

    Measured as the difference between 2n and n elements, so that the few bytes of scalar
    parameters do not count as per-element traffic.
    """

    def total(size):
        x = jax.ShapeDtypeStruct((size,), dtype)
        cost = _compiled(_fwd_bwd(act), x, x).cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        return float(cost["bytes accessed"])

    return (total(2 * n) - total(n)) / n


def mlp_step(act: Callable, dtype=jnp.float32) -> tuple[Callable, tuple]:
    """The README's MLP gradient step with `act`, jitted, and arguments for it."""

    keys = jax.random.split(jax.random.key(0), MLP_LAYERS + 1)
    ws = [jax.random.normal(k, (MLP_WIDTH, MLP_WIDTH), dtype) / MLP_WIDTH**0.5 for k in keys[1:]]
    x = jax.random.normal(keys[0], (MLP_BATCH, MLP_WIDTH), dtype)
    return jax.jit(jax.grad(mlp_loss(act))), (ws, x)


def _interleaved(a: Callable, b: Callable, args, repeats: int) -> tuple[float, float]:
    """Median and spread (IQR) of time(a) / time(b), measured A B B A A B ... in one process.

    Each sample runs a batch of calls long enough (about 5 ms) that dispatch jitter and the
    timer's resolution do not decide the ratio of small arrays.  Every other sample runs b
    first, so that whatever the second of a pair gains or loses (a warm cache, a clock that
    has ramped up) falls on each side equally.
    """

    def batch(f, calls):
        t0 = time.perf_counter()
        for _ in range(calls):
            out = f(*args)
        jax.block_until_ready(out)
        return time.perf_counter() - t0

    once = max(batch(a, 1), batch(b, 1), batch(a, 1), batch(b, 1))
    calls = max(1, min(1000, int(5e-3 / max(once, 1e-7))))
    ratios = []
    for i in range(repeats):
        if i % 2:
            tb = batch(b, calls)
            ta = batch(a, calls)
        else:
            ta = batch(a, calls)
            tb = batch(b, calls)
        ratios.append(ta / tb)
    q = np.percentile(ratios, [25, 50, 75])
    return float(q[1]), float(q[2] - q[0])


@dataclasses.dataclass
class Row:
    name: str
    memory_ratio: float
    memory_mib: float
    jax_nn_memory_mib: float
    residual_arrays: int
    residual_bytes: float
    bytes_moved: float
    jax_nn_bytes_moved: float
    timing: dict = dataclasses.field(default_factory=dict)
    mlp_step: tuple[float, float] | None = None  # time ratio (median, IQR)


def run(
    selected: list[str] | None = None,
    *,
    sizes=(1 << 16, 1 << 20),
    dtypes=("float32",),
    repeats: int = 15,
    mlp_repeats: int = 5,
    timing: bool = True,
    against: str = "jax.nn",
) -> list[Row]:
    """Measure every activation with a jax.nn counterpart (or the selected ones)."""
    pairs = counterparts(against)
    rows = []
    for name in selected or list(pairs):
        ours, theirs = pairs[name]
        ours_mem, theirs_mem = training_memory(ours), training_memory(theirs)
        row = Row(
            name,
            ours_mem / max(theirs_mem, 1),
            ours_mem / 2**20,
            theirs_mem / 2**20,
            residual_arrays(ours),
            residual_bytes_per_element(ours),
            bytes_moved_per_element(ours),
            bytes_moved_per_element(theirs),
        )
        if timing:
            for dtype in dtypes:
                for n in sizes:
                    x = jax.random.normal(jax.random.key(0), (n,), dtype=dtype)
                    g = jnp.ones_like(x)
                    fwd = _interleaved(jax.jit(ours), jax.jit(theirs), (x,), repeats)
                    both = _interleaved(
                        jax.jit(_fwd_bwd(ours)), jax.jit(_fwd_bwd(theirs)), (x, g), repeats
                    )
                    row.timing[f"{dtype}/{n}"] = {"forward": fwd, "forward+backward": both}
            ours_step, args = mlp_step(ours)
            theirs_step, _ = mlp_step(theirs)
            row.mlp_step = _interleaved(ours_step, theirs_step, args, mlp_repeats)
        rows.append(row)
    return rows


def table(rows: list[Row]) -> str:
    """A markdown table of the rows (time: median ratio actfn / jax.nn and its IQR)."""
    head = (
        "activation",
        "train mem actfn/jax.nn",
        "MiB actfn",
        "MiB jax.nn",
        "saved arrays",
        "saved B/elem",
        "B moved/elem",
        "jax.nn B/elem",
        "MLP step time ratio (IQR)",
        "fwd+bwd time ratio (IQR)",
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        times = "; ".join(
            f"{k}: {v['forward+backward'][0]:.2f} ({v['forward+backward'][1]:.2f})"
            for k, v in r.timing.items()
        )
        cells = (
            r.name,
            f"{r.memory_ratio:.2f}",
            f"{r.memory_mib:.1f}",
            f"{r.jax_nn_memory_mib:.1f}",
            str(r.residual_arrays),
            f"{r.residual_bytes:.0f}",
            f"{r.bytes_moved:.0f}",
            f"{r.jax_nn_bytes_moved:.0f}",
            "-" if r.mlp_step is None else f"{r.mlp_step[0]:.2f} ({r.mlp_step[1]:.2f})",
            times or "-",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclasses.dataclass
class KerasRow:
    name: str
    memory_mib: float  # actfn's activation in the Keras model
    keras_memory_mib: float  # keras.activations' function of the same name

    @property
    def memory_ratio(self) -> float:
        return self.memory_mib / max(self.keras_memory_mib, 1e-9)


def keras_counterparts() -> dict[str, tuple[Callable, Callable]]:
    """name -> (actfn function, keras.activations function of that name), elementwise ones."""
    # Through actfn.keras, which sets Keras' JAX backend first (needs the `keras` extra).
    from actfn.keras import keras

    pairs = {}
    for name in names():
        found = (getattr(keras.activations, n, None) for n in (name, *spec(name).aliases))
        theirs = next((f for f in found if f is not None), None)
        # (threshold has required parameters, which Keras' layers cannot pass.)
        plain = all(p.default is not REQUIRED for p in spec(name).params)
        if spec(name).elementwise and theirs is not None and plain:
            pairs[name] = (spec(name).function, theirs)
    return pairs


def keras_training_memory(act: Callable) -> int:
    """The temporary memory of Keras' own compiled train step (`model.train_step`, SGD, MSE) of
    `MLP_LAYERS` Dense(`MLP_WIDTH`) layers with `act`, batch `MLP_BATCH`, float32."""
    from actfn.keras import keras

    inputs = keras.Input((MLP_WIDTH,))
    h = inputs
    for _ in range(MLP_LAYERS):
        h = keras.layers.Dense(MLP_WIDTH, activation=act)(h)
    model = keras.Model(inputs, h)
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.build(model.trainable_variables)
    data = (jnp.ones((MLP_BATCH, MLP_WIDTH)), jnp.ones((MLP_BATCH, MLP_WIDTH)))
    state = tuple(
        [v.value for v in variables]
        for variables in (
            model.trainable_variables,
            model.non_trainable_variables,
            model.optimizer.variables,
            model.metrics_variables,
        )
    )
    compiled = jax.jit(model.train_step).lower(state, data).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def keras_rows(selected: list[str] | None = None) -> list[KerasRow]:
    """Keras' train step with actfn's activation against the same with keras.activations'."""
    pairs = keras_counterparts()
    return [
        KerasRow(
            name,
            keras_training_memory(pairs[name][0]) / 2**20,
            keras_training_memory(pairs[name][1]) / 2**20,
        )
        for name in selected or pairs
    ]


def keras_table(rows: list[KerasRow]) -> str:
    lines = [
        "| activation | train mem actfn/keras | MiB actfn | MiB keras.activations |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.memory_ratio:.2f} | {r.memory_mib:.1f} | {r.keras_memory_mib:.1f} |"
        )
    return "\n".join(lines)
