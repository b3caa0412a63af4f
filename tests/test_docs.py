"""The documentation: README's length and commands, generated pages current, the site builds."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import actfn
from actfn import _accuracy, _bench, _docs
from actfn._wiring import DOC_SECTIONS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_is_short_and_holds_both_setup_commands():
    assert len(README.encode()) < 12 * 1024
    assert "pip install -e . && python -m actfn\n" in README
    assert 'pip install -e ".[test]" && python -m pytest\n' in README
    # CI runs the README's test command.
    assert 'pip install -e ".[test]" && python -m pytest' in (ROOT / ".ci" / "run").read_text()


def test_the_readme_tour_runs():
    code = re.search(r"## A tour\n\n```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md (tour)", "exec"), namespace)
    assert namespace["config"] == {"name": "leaky_relu", "negative_slope": 0.2}
    assert namespace["swish"](1.0, 1.0) == pytest.approx(0.7310586)


def test_every_generated_block_is_what_the_docs_command_writes():
    # `python -m actfn docs` rewrites them from the registry and docs/data/.
    assert _docs.stale() == []


def test_every_page_has_only_blocks_the_docs_command_knows():
    for page in _docs.pages():
        text = (ROOT / page).read_text()
        opened = re.findall(r"<!-- actfn:([\w-]+) -->", text)
        closed = re.findall(r"<!-- /actfn:([\w-]+) -->", text)
        assert opened == closed, page
        assert set(opened) <= set(_docs.BLOCKS), page


def test_the_accuracy_data_covers_every_activation_with_an_oracle():
    data = _docs._load(_docs.ACCURACY_DATA)
    measured = {(r["name"], r["dtype"]) for r in data["results"]}
    expected = {(n, d) for n in (*_accuracy.ORACLE_NAMES, "gelu_tanh") for d in _accuracy.DTYPES}
    assert measured == expected
    assert data["command"].startswith("python -m actfn accuracy")


@pytest.mark.parametrize("path", _docs.BENCH_DATA)
def test_the_benchmark_data_covers_every_jax_nn_counterpart(path):
    data = _docs._load(path)
    assert [r["name"] for r in data["rows"]] == list(_bench.counterparts())
    assert data["command"].startswith("python -m actfn bench")
    assert all(r["timing"] and r["mlp_step"] for r in data["rows"])


@pytest.mark.parametrize("name", actfn.names())
def test_every_activation_docstring_follows_the_template(name):
    doc = actfn.spec(name).function.__doc__
    summary = doc.split("\n", 1)[0]
    assert summary and summary.endswith(".") and not summary.startswith(" ")
    positions = [doc.find(section) for section in DOC_SECTIONS]
    assert -1 not in positions, [s for s, p in zip(DOC_SECTIONS, positions) if p < 0]
    assert positions == sorted(positions)
    args = doc.split("Args:\n", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^    (\w+):", args, flags=re.M)
    assert documented == list(actfn.spec(name).function.__signature__.parameters)


@pytest.mark.parametrize(
    "name", ["define", "deserialize", "forward_mode", "get", "register", "serialize", "verify"]
)
def test_every_tool_docstring_has_args_and_returns(name):
    doc = getattr(actfn, name).__doc__
    assert "Args:" in doc and "Returns:" in doc


def test_the_docs_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reference = (tmp_path / "api" / "index.html").read_text()
    for name in actfn.names():
        assert f'id="actfn.{name}"' in reference, name
