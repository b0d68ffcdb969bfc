#!/usr/bin/env python3
"""Import time of di_backend beside asyncio and dependency-injector, interleaved in one run.

Each figure is the wall time of ``python -c "<import>"`` minus ``python -c pass`` (the
shared harness's W5), the median over ``--samples`` interleaved rounds. Run it from
outside the checkout (``python -c`` would import the package from the working directory)
and with ``.pyc`` files in place: this project's environment sets
``PYTHONDONTWRITEBYTECODE=1``, so compile first::

    PYTHONDONTWRITEBYTECODE= .venv/bin/python -m compileall -q di_backend
    cd /tmp && /path/to/.venv/bin/python /path/to/bench/imports.py --samples 21
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

# dependency-injector imports pydantic, starlette and yaml when they are installed (this
# project's dev environment has all three); blocking them measures its own import.
_SPARE = (
    "import sys\n"
    "class _Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('pydantic', 'starlette', 'yaml', 'fastapi'):\n"
    "            raise ImportError(name)\n"
    "sys.meta_path.insert(0, _Block())\n"
)
_DI = "import dependency_injector.containers, dependency_injector.providers"
CASES = {
    "bare": "pass",
    "asyncio": "import asyncio",
    "di_backend": "import di_backend",
    "dependency-injector, spared pydantic/starlette/yaml": _SPARE + _DI,
    "dependency-injector as installed": _DI,
}


def _once(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    """Time every case interleaved and print ms over bare, with ratios to asyncio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=21)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.samples):
        for name, code in CASES.items():
            times[name].append(_once(code))
    bare = statistics.median(times["bare"])
    over = {name: (statistics.median(v) - bare) * 1000 for name, v in times.items()}
    print(f"| import | ms over `python -c pass` ({bare * 1000:.1f} ms) | / asyncio |")
    print("|---|---|---|")
    for name, ms in over.items():
        if name != "bare":
            print(f"| {name} | {ms:.1f} | {ms / over['asyncio']:.2f} |")
    spared = over["dependency-injector, spared pydantic/starlette/yaml"]
    print(f"\ndi_backend / dependency-injector (spared): {over['di_backend'] / spared:.2f}")


if __name__ == "__main__":
    main()
