"""tipc-serving: the shared code of the serving TIPC harness, its service and its reference.

Everything with logic lives here so that the service (deploy/serving_python), the reference
(tools/infer.py) and the harness (test_tipc/) use one implementation of each step.
"""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
