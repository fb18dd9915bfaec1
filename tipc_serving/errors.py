"""One-line errors for command-line tools: a user mistake is a message, never a traceback."""
import functools
import sys


class UserError(Exception):
    """A problem the user can fix (bad path, bad value). Its text is the whole message."""

    exit_code = 1


class ConfigError(UserError):
    """A malformed config: names the file, the line and the key."""

    exit_code = 2

    def __init__(self, path, line, key, problem):
        self.path, self.line, self.key, self.problem = str(path), line, key, problem
        where = self.path if line is None else "{}:{}".format(self.path, line)
        what = "" if key is None else " key '{}':".format(key)
        super().__init__("{}:{} {}".format(where, what, problem))


def cli(prog):
    """Decorate a main(argv) so UserError becomes `prog: error: message` and its exit code."""

    def wrap(main):
        @functools.wraps(main)
        def run(*args, **kwargs):
            try:
                return main(*args, **kwargs)
            except UserError as err:
                print("{}: error: {}".format(prog, err), file=sys.stderr)
                return err.exit_code
            except KeyboardInterrupt:
                print("{}: interrupted".format(prog), file=sys.stderr)
                return 130
            except BrokenPipeError:
                return 1

        return run

    return wrap
