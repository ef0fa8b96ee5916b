"""Run every benchmark script in this folder (bench_*.py), each in its own interpreter.

Each script prints its own results as ratios against a baseline measured in the same run;
this runner only finds them, runs them one after another and reports failures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    root = here.parent.parent
    scripts = sorted(here.glob("bench_*.py"))
    if not scripts:
        print("benchmarks: none yet")
        return 0
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script)], cwd=root, check=False)
        if result.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"benchmarks FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
