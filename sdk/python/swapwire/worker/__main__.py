"""python3 -m swapwire.worker --model module:Class [--addr ADDR]"""

import argparse
import importlib
import sys

from swapwire.worker import serve


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m swapwire.worker",
        description="Serve a Python model as a Swapwire worker.")
    parser.add_argument("--model", required=True, metavar="MODULE:CLASS",
                        help="the model class (or instance), such as mymodel:Model")
    parser.add_argument("--addr", metavar="ADDR",
                        help="unix:///path.sock or tcp://127.0.0.1:PORT "
                             "(default: $SWAPWIRE_WORKER_ADDR)")
    parser.add_argument("--path", action="append", default=[], metavar="DIR",
                        help="a directory to put on sys.path first; repeatable")
    args = parser.parse_args(argv)
    module_name, sep, attr = args.model.partition(":")
    if not sep or not module_name or not attr:
        parser.error("--model wants MODULE:CLASS, got %r" % args.model)
    sys.path[:0] = args.path
    model = importlib.import_module(module_name)
    for part in attr.split("."):
        model = getattr(model, part)
    serve(model, addr=args.addr)


if __name__ == "__main__":
    main()
