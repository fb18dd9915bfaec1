"""`python -m tipc_serving COMMAND ...`: the Python side of test_tipc/test_serving.sh.

Each command is a main(argv) decorated with errors.cli in the module that owns the logic; this file
only routes, importing nothing but the one module a command needs.
"""
import importlib
import sys

CHAIN = "tipc_serving.chain.cli"
COMMANDS = {
    "plan": ("tipc_serving.config.plan", "parse configs, expand cases, check paths: write a plan"),
    "loopback-up": ("tipc_serving.service.netns", "bring lo up in a new network namespace, check it is alone"),
    "open": (CHAIN, "create a config's run folder and report"),
    "step": (CHAIN, "run one preparation step: export, convert, reference or golden"),
    "cases": (CHAIN, "run every case of a config: service, clients, stop, checks, verdict"),
    "finish": (CHAIN, "close a run, print its table; exit 0 only if all is well"),
    "abort": (CHAIN, "after an interruption: stop what still runs, mark unfinished cases"),
    "converted": ("tipc_serving.model.converted", "check that a conversion wrote its files"),
    "replay": ("tipc_serving.chain.replay", "replay a case's captured feeds through Paddle Inference, compare"),
    "report": ("tipc_serving.report.cli", "print a run's table, or merge shard reports"),
    "baseline": ("tipc_serving.verdict.baseline", "accept a run's task-level differences: a file beside its config"),
}


def usage():
    lines = ["usage: python -m tipc_serving COMMAND [ARGS...]", "", "commands:"]
    lines += ["  {:<11} {}".format(name, help_text) for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        print(usage(), file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    if module.__name__ == CHAIN:
        return module.main(argv[0], argv[1:])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
