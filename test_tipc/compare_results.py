"""TIPC's checker entry point: compare the served answers (client logs) with the Paddle Inference reference.

A thin wrapper of tipc_serving/verdict/cli.py; `python test_tipc/compare_results.py --help` explains.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tipc_serving.verdict.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
