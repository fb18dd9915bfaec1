"""gRPC client of the classifier service (seed step 2.8), through Paddle Serving's PipelineClient.

    python pipeline_rpc_client.py [--endpoint 127.0.0.1:18090]
                                  [--image_dir | --img_dir | --img-path PATH] [--logid N] [--batch-size N]

Same output and exit status as pipeline_http_client.py.
"""
import contextlib
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from tipc_serving.client import runner as client  # noqa: E402
from tipc_serving.errors import cli  # noqa: E402

DEFAULT_ENDPOINT = "127.0.0.1:18090"


def rpc_transport(args):
    import grpc
    from paddle_serving_server.pipeline import PipelineClient

    pipeline_client = PipelineClient()
    pipeline_client.connect([args.endpoint])

    def send(keys, values, logid):
        # clientip given: PipelineClient would otherwise resolve this host's name on every request.
        feed = dict(zip(keys, values), clientip="127.0.0.1")
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # PipelineClient prints timing lines
                future = pipeline_client.predict(feed_dict=feed, asyn=True, log_id=logid)
            reply = future.call_future_.result(timeout=args.connect_timeout + args.read_timeout)
        except grpc.RpcError as err:
            raise client.TransportError("no answer from {}: {} {}".format(
                args.endpoint, err.code().name, err.details())) from None
        except grpc.FutureTimeoutError:
            raise client.TransportError("no answer from {} within {:g} s".format(
                args.endpoint, args.connect_timeout + args.read_timeout)) from None
        return list(reply.key), list(reply.value), reply.err_no, reply.err_msg

    return send


@cli("pipeline_rpc_client.py")
def main(argv=None):
    parser = client.make_parser(__doc__, "--endpoint", DEFAULT_ENDPOINT, "the service's gRPC host:port")
    return client.run("pipeline_rpc_client.py", rpc_transport, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
