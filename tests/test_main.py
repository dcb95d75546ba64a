"""Tests of ``python -m skbackprop``, the course exercise end to end."""

import re
import subprocess
import sys

import pytest

from skbackprop.__main__ import build_parser, main


def test_report_covers_every_step(capsys):
    status = main(["--max-iter", "40", "--hidden", "10", "--alpha", "1"])
    out = capsys.readouterr().out
    assert status == 0
    diffs = [float(d) for d in re.findall(r"relative difference = (\S+)", out)]
    assert len(diffs) == 2 and max(diffs) < 1e-9
    assert "hidden layers (10)" in out
    accuracies = {
        name: float(value)
        for name, value in re.findall(r"(training|held-out) accuracy\s+([0-9.]+)", out)
    }
    assert set(accuracies) == {"training", "held-out"}
    assert accuracies["held-out"] > 0.85  # 40 iterations already learn the digits
    assert re.search(r"fit time\s+[0-9.]+ s", out)
    number = r"\s+([0-9.]+)"
    rows = re.findall(r"^" + number * 5, out, re.M)
    assert len(rows) == 5  # the lambda path: lambda, mean, std, fit time, iterations
    assert "BackpropClassifierCV" in out
    assert re.search(r"lambda\s+mean CV accuracy\s+std\s+fit \(s\)\s+iterations", out)
    best = re.search(r"best lambda (\S+), mean CV accuracy ([0-9.]+)", out)
    assert best is not None
    best_score = max(float(r[1]) for r in rows)
    assert float(best.group(2)) == pytest.approx(best_score, abs=1e-4)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--hidden", "0"], "positive"),
        (["--hidden", "a,b"], "comma-separated"),
        (["--alpha", "-1"], ">= 0"),
        (["--max-iter", "0"], "positive integer"),
    ],
)
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_parser_defaults_are_the_course():
    args = build_parser().parse_args([])
    assert args.alpha == 1.0 and args.hidden == (25,)


def test_runs_as_module_help():
    result = subprocess.run(
        [sys.executable, "-m", "skbackprop", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--alpha", "--hidden", "--max-iter", "--random-state"):
        assert option in result.stdout


def test_readme_example_runs(capsys):
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), re.S)
    assert blocks, "README.md has no python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    best_params, mean_cv = out[-2], float(out[-1])
    assert "net__alpha" in best_params
    assert float(best_params.split()[-1]) >= 0.97  # shuffled, stratified 5-fold CV
    assert mean_cv > 0.9  # plain 5-fold CV of the digits, in file order
