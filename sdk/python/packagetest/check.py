"""Run by scripts/test-sdk-python.sh with the venv's python, outside the
checkout: calls a `swapwire serve` whose worker is
`python -m swapwire.worker --model mymod:Model` from the installed package,
with the sync client, the asyncio client and numpy. Exits non-zero on the
first wrong answer."""

import asyncio
import os
import sys

import google.protobuf
import numpy as np
from google.protobuf.internal import api_implementation

import swapwire
from swapwire import aio
from swapwire.client import Client, Error

addr, checkout = sys.argv[1], sys.argv[2]


def expect(what, got, want):
    if got != want:
        sys.exit("%s: got %r, want %r" % (what, got, want))
    print("ok  %s: %r" % (what, got))


expect("swapwire imported from the venv", swapwire.__file__.startswith(sys.prefix), True)
expect("not from the checkout", swapwire.__file__.startswith(checkout), False)
expect("PYTHONPATH unset", os.environ.get("PYTHONPATH"), None)

# The protobuf runtime of the client and of the worker: "VERSION IMPLEMENTATION".
# scripts/check-python-protobuf.sh sets SWAPWIRE_EXPECT_PROTOBUF to the one it
# put into the venv.
client_protobuf = "%s %s" % (google.protobuf.__version__, api_implementation.Type())
want_protobuf = os.environ.get("SWAPWIRE_EXPECT_PROTOBUF") or client_protobuf
expect("client protobuf runtime", client_protobuf, want_protobuf)

with Client(addr, timeout=30) as c:
    r = c.predict([1.0, 2.0, 3.0], model="summer")
    expect("sync predict", (r.model, r.version, r.label, r.scores), ("summer", 1, "big", [6.0]))
    expect("worker protobuf runtime", r.option["protobuf"], want_protobuf)
    worker_file = r.option["swapwire_file"]
    expect("worker ran from the venv", worker_file.startswith(sys.prefix), True)
    expect("worker not from the checkout", worker_file.startswith(checkout), False)
    r = c.predict(np.array([[0.5, 0.25], [0.125, 0.0]], dtype=np.float32), model="summer")
    expect("numpy 2-D input", (r.label, r.scores), ("small", [0.875]))
    try:
        c.predict("text", model="summer")
        sys.exit("a text input did not fail")
    except Error as e:
        expect("a TypeError in the model", e.code().name, "INVALID_ARGUMENT")

with Client(addr, timeout=30, numpy=True) as c:
    r = c.predict(np.arange(4, dtype=np.int64), model="summer")
    expect("numpy scores are an array", (type(r.scores).__name__, r.scores.dtype.name,
                                         r.scores.tolist()), ("ndarray", "float64", [6.0]))


async def run_async():
    async with aio.Client(addr, timeout=30) as c:
        r = await c.predict([5.0, 6.0], model="summer")
        expect("asyncio predict", (r.label, r.scores), ("big", [11.0]))
        got = [(x.id, x.label) async for x in c.predict_stream([[1.0], [9.0]], model="summer")]
        expect("asyncio stream", got, [("0", "small"), ("1", "big")])
        expect("asyncio health", await c.health("summer"), "SERVING")


asyncio.run(run_async())
print("the installed package works")
