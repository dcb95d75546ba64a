"""The smoke run of every benchmark: each script's ``--quick``, so none can rot.

Runs every ``benchmarks/*.py`` but the shared modules (``_*.py``,
``mnist_data.py``) and this one with ``--quick``, one after the other, in
fresh interpreters (this one's Python), and checks ``gpu_check.sh``'s
syntax. A quick run needs no MNIST files (it uses a generated stand-in
unless given ``--data``) and writes its JSON under
``benchmarks/results/quick/``; one that needs a backend outside the
project's ``test`` extra (PyTorch) prints "skipped: needs ..." and exits 0.
Each script must also have its line in ``benchmarks/README.md``, the index.

Fails (exit status 1) when a script fails, takes longer than ``--timeout``
seconds, or is missing from the index; prints each script's status and
seconds, and the output of those that failed. Not timings: a smoke run
says that the scripts run, not how fast. CI runs it after the tests::

    .venv/bin/python benchmarks/smoke.py
    .venv/bin/python benchmarks/smoke.py bench_dask.py   # some of them
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_SCRIPTS = {"mnist_data.py", "smoke.py"}


def scripts():
    """The benchmark scripts, by name."""
    return sorted(
        p.name
        for p in HERE.glob("*.py")
        if not p.name.startswith("_") and p.name not in NOT_SCRIPTS
    )


def run_one(name, timeout):
    """``(status, seconds, output)`` of one script's ``--quick``."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(HERE / name), "--quick"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or b"").decode(errors="replace")
        return f"TIMEOUT ({timeout} s)", time.perf_counter() - start, output
    seconds = time.perf_counter() - start
    output = done.stdout + done.stderr
    if done.returncode != 0:
        return f"FAILED (exit {done.returncode})", seconds, output
    skipped = [line for line in output.splitlines() if line.startswith("skipped:")]
    return (skipped[0] if skipped else "ok"), seconds, output


def problems_before_running(names):
    """Scripts missing from the index, and a shell script that does not parse."""
    index = (HERE / "README.md").read_text()
    found = [f"{name}: no line in benchmarks/README.md" for name in names]
    found = [line for line, name in zip(found, names) if f"`{name}`" not in index]
    shell = subprocess.run(
        ["bash", "-n", str(HERE / "gpu_check.sh")], capture_output=True, text=True
    )
    if shell.returncode != 0:
        found.append(f"gpu_check.sh does not parse: {shell.stderr.strip()}")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="scripts to run (default: all)")
    parser.add_argument("--timeout", type=float, default=60, help="per script, s")
    args = parser.parse_args(argv)
    names = args.names or scripts()
    failures = problems_before_running(names)
    for line in failures:
        print(f"FAILED  {line}")
    begin = time.perf_counter()
    for name in names:
        status, seconds, output = run_one(name, args.timeout)
        print(f"{seconds:6.1f} s  {name:<28} {status}", flush=True)
        if not (status == "ok" or status.startswith("skipped:")):
            failures.append(name)
            print("    " + output[-4000:].replace("\n", "\n    "))
    total = time.perf_counter() - begin
    print(f"{len(names)} benchmarks' --quick in {total:.0f} s", end="")
    print(f"; {len(failures)} failed" if failures else "; all ran")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
