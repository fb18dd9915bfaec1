"""What the HTTP and gRPC clients share: arguments, batching, result lines and exit status.

Each client supplies only a transport: send(keys, base64 values, logid) -> (keys, values, err_no,
err_msg) of the reply, raising TransportError when no reply came. Output: one result line per image
(tipc_serving/verdict/result_lines.py) on stdout; an error reply prints the image's error line on stdout and the
server's err_msg on stderr, and makes the exit status 1. The whole run is bounded (--timeout): a service that
answers nothing ends the client with one error line and exit status 1, never a hang or a traceback.
"""
import argparse
import signal
import sys

from .. import REPO_ROOT
from ..errors import UserError
from ..model import images
from ..verdict.result_lines import ImageResult, format_line
from . import protocol

DEFAULT_IMAGES = REPO_ROOT / "images"
# The image flag spellings PaddlePaddle's TIPC configs use.
IMAGE_FLAGS = ("--image_dir", "--img_dir", "--img-path", "--img_path", "--image-dir", "--image_path")


DEFAULT_TIMEOUT = 120.0  # seconds for the whole run: four images take about one on these machines


class TransportError(Exception):
    """No answer: connection refused, timeout, an HTTP error status."""


class OutOfTime(BaseException):
    """The whole run's time is up (a BaseException, so that no library's `except Exception` swallows it)."""


def _out_of_time(signum, frame):
    raise OutOfTime()


def add_common_arguments(parser):
    parser.add_argument(*IMAGE_FLAGS, dest="image_path", default=str(DEFAULT_IMAGES),
                        help="an image file or a folder of images (default: the repo's images/)")
    parser.add_argument("--logid", type=int, default=0, help="log id of the first request (then +1 each)")
    parser.add_argument("--batch-size", "--batch_size", type=int, default=1, help="images per request")
    parser.add_argument("--connect-timeout", type=float, default=5.0, help="seconds")
    parser.add_argument("--read-timeout", type=float, default=60.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds for the whole run, every request included (default %(default)g)")
    return parser


def request_keys(count):
    return ["image"] if count == 1 else ["image_{}".format(i) for i in range(count)]


def classify_paths(send, paths, batch_size, logid):
    """ImageResults for paths, in order; an error reply or transport failure marks its batch."""
    results = []
    for index, start in enumerate(range(0, len(paths), batch_size)):
        chunk = paths[start:start + batch_size]
        names = [p.name for p in chunk]
        keys = request_keys(len(chunk))
        try:
            values = [protocol.encode_image(images.read_image_bytes(p)) for p in chunk]
            reply = send(keys, values, logid + index)
            results.extend(protocol.parse_response(*reply, image_names=names))
        except protocol.ResponseError as err:
            results.extend(ImageResult(name, err_no=err.err_no, err_msg=err.err_msg) for name in names)
        except (TransportError, UserError) as err:
            results.extend(ImageResult(name, err_no=-1, err_msg=str(err)) for name in names)
    return results


def run(prog, send_factory, args):
    """Classify args.image_path through the transport made by send_factory(args); exit status."""
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    if args.timeout <= 0:
        raise UserError("--timeout must be above 0 seconds")
    paths = images.list_images(args.image_path)
    previous = signal.signal(signal.SIGALRM, _out_of_time)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    answered = failed = 0
    try:
        send = send_factory(args)
        for start in range(0, len(paths), args.batch_size):  # printed as they come: a kill keeps them
            for result in classify_paths(send, paths[start:start + args.batch_size], args.batch_size,
                                         args.logid + start // args.batch_size):
                answered += 1
                print(format_line(result), flush=True)
                if result.err_no:
                    failed += 1
                    print("{}: error: {}: err_no {}: {}".format(prog, result.image, result.err_no, result.err_msg),
                          file=sys.stderr, flush=True)
    except OutOfTime:
        raise UserError("no answer within {:g} s (--timeout, the whole run): stopped after {} of {} images".format(
            args.timeout, answered, len(paths))) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if failed:
        print("{}: {} of {} images failed".format(prog, failed, len(paths)), file=sys.stderr)
    return 1 if failed else 0


def make_parser(description, default_endpoint_flag, default_endpoint, endpoint_help):
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(default_endpoint_flag, default=default_endpoint, help=endpoint_help)
    return add_common_arguments(parser)
