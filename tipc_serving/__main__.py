"""`python -m tipc_serving COMMAND ...`: the Python side of test_tipc/test_serving.sh.

Each command is a small main(argv) in the module that owns the logic; this file only routes.
"""
import importlib
import sys

COMMANDS = {
    "plan": ("tipc_serving.plan", "plan_main", "parse configs, expand cases, check paths: write a plan"),
    "shell": ("tipc_serving.plan", "shell_main", "print bash assignments for one config of a plan"),
    "ports": ("tipc_serving.service", "ports_main", "check that ports are free, naming holders"),
    "wait-ready": ("tipc_serving.service", "wait_ready_main", "wait until a started service answers"),
    "health": ("tipc_serving.service", "health_main", "say whether every process of a service lives"),
    "loopback-up": ("tipc_serving.service", "loopback_up_main", "bring lo up in a new network namespace"),
    "stop": ("tipc_serving.service", "stop_main", "stop a started service's process group"),
    "converted": ("tipc_serving.serving_model", "converted_main", "check that a conversion wrote its files"),
    "report": ("tipc_serving.report", "main", "results.json / junit.xml / summary / merge"),
}


def usage():
    lines = ["usage: python -m tipc_serving COMMAND [ARGS...]", "", "commands:"]
    lines += ["  {:<11} {}".format(name, help_text) for name, (_, _, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        print(usage(), file=sys.stderr)
        return 2
    module_name, function_name, _ = COMMANDS[argv[0]]
    return getattr(importlib.import_module(module_name), function_name)(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
