"""One error style for every command: a user mistake is one line `prog: error: message`, never a traceback.

Exit statuses: 1 for a problem found while working (a model that does not load, a failed check);
2 for bad usage, a bad config or an unreadable input (nothing was started).
"""
import argparse
import contextlib
import errno
import functools
import signal
import sys


class UserError(Exception):
    """A problem the user can fix (bad path, bad value). Its text is the whole message."""

    exit_code = 1


class UsageError(UserError):
    """Bad arguments, or an input file that is missing, unreadable or malformed: exit status 2."""

    exit_code = 2


class ConfigError(UsageError):
    """A malformed config: names the file, the line and the key."""

    def __init__(self, path, line, key, problem):
        self.path, self.line, self.key, self.problem = str(path), line, key, problem
        super().__init__(self.where() + " " + problem)

    def where(self):
        """'file:line: key 'k':' (line and key when known)."""
        text = self.path if self.line is None else "{}:{}".format(self.path, self.line)
        return text + ":" + ("" if self.key is None else " key '{}':".format(self.key))


class ConfigErrors(UsageError):
    """Several problems in one config (or several configs), all reported at once, one line each."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


class OutputError(UserError):
    """The run's output folder cannot be written (full, read-only): nothing more can be recorded, so the run
    stops. Its text names the file and the system's reason."""

    exit_code = 3  # test_serving.sh stops the whole run on it
    prog = "test_serving.sh"  # the line is the harness's, whichever of its commands met it


# Errors of a file system that refuses writes: not a bug of the harness, and not the case's fault.
OUTPUT_ERRNOS = (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG)


def output_error(err, path=None):
    """An OSError of the output folder as an OutputError ("cannot write PATH: No space left on device"), or
    None for any other error."""
    if not isinstance(err, OSError) or err.errno not in OUTPUT_ERRNOS:
        return None
    return OutputError("cannot write {}: {}".format(path or err.filename or "the output folder",
                                                    err.strerror or err))


class Interrupted(BaseException):
    """A termination signal reached a command (see handle_termination): it unwinds like
    KeyboardInterrupt, so that `finally` blocks stop what the command started."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def handle_termination():
    """Turn SIGTERM into Interrupted for the rest of this process."""
    signal.signal(signal.SIGTERM, _raise_interrupted)


@contextlib.contextmanager
def deferred_signals():
    """Hold SIGINT and SIGTERM until the block ends: a second Ctrl-C (or the harness's SIGTERM after
    its SIGINT) must not cut a stop short and leave a service running. They are delivered after.
    Yields the mask from before, which a child started in the block must get back (a mask is inherited)."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield previous
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage mistakes end like every other error: one line, exit status 2."""

    def error(self, message):
        raise UsageError("{} (see --help)".format(message))


def cli(prog):
    """Decorate a main(argv) so UserError becomes `prog: error: message` and its exit code."""

    def wrap(main):
        @functools.wraps(main)
        def run(*args, **kwargs):
            try:
                return main(*args, **kwargs)
            except UserError as err:
                for line in str(err).splitlines() or [""]:
                    print("{}: error: {}".format(getattr(err, "prog", prog), line), file=sys.stderr)
                return err.exit_code
            except KeyboardInterrupt:
                print("{}: interrupted".format(prog), file=sys.stderr)
                return 130
            except Interrupted as signal_:
                print("{}: interrupted by {}".format(prog, signal_), file=sys.stderr)
                return 128 + signal_.signum
            except BrokenPipeError:
                return 1

        return run

    return wrap
