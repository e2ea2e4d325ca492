#!/usr/bin/env python3
"""The baseline of the Python workers benchmark: one Python process serving
the scikit-learn digits model over gRPC, the way Rekcurd serves a model.

It is a grpcio server with a thread pool (--threads, default 10) whose
servicer converts the request, calls the model's predict (predict_proba on
one image, from examples/sklearn-digits/worker.py's DigitsModel, the same
code the Swapwire workers run) and converts the answer, all in the one
process. It serves swapwire.v1.PredictionService/Predict, so the benchmark's
Go load generator sends it exactly the requests it sends Swapwire.

    server.py --model-dir DIR [--addr 127.0.0.1:0] [--threads 10]

Once listening it prints "SWAPWIRE_BENCH_READY host:port" on stdout; it
exits when its stdin closes or says "quit".
"""

import argparse
import os
import sys
from concurrent import futures

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, os.pardir, os.pardir)
sys.path[:0] = [os.path.join(ROOT, "sdk", "python"), os.path.join(ROOT, "examples", "sklearn-digits")]

import grpc  # noqa: E402

from swapwire.v1 import prediction_pb2, prediction_pb2_grpc  # noqa: E402
from swapwire.worker import _convert  # noqa: E402
from worker import DigitsModel  # noqa: E402


class Servicer(prediction_pb2_grpc.PredictionServiceServicer):
    def __init__(self, model, name):
        self.model = model
        self.name = name

    def Predict(self, request, context):
        try:
            value = _convert.input_from_value(request.input)
            option = _convert.option_from_struct(request.option, request.HasField("option"))
            result = self.model.predict(value, option)
        except (ValueError, TypeError) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        response = prediction_pb2.PredictResponse(model=self.name, version=1)
        label, score, _ = _convert.split_result(result)
        response.output.CopyFrom(_convert.value_from_label(label))
        response.scores.extend(score.tolist() if hasattr(score, "tolist") else score)
        return response


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--model", default="digits")
    parser.add_argument("--addr", default="127.0.0.1:0")
    parser.add_argument("--threads", type=int, default=10)
    args = parser.parse_args()
    model = DigitsModel()
    model.load(args.model_dir)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.threads))
    prediction_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(model, args.model), server)
    port = server.add_insecure_port(args.addr)
    server.start()
    host = args.addr.rpartition(":")[0]
    print("SWAPWIRE_BENCH_READY %s:%d" % (host, port), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
    server.stop(1).wait()


if __name__ == "__main__":
    main()
