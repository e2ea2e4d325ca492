"""A client of the framed worker protocol, for tests and tools.

The Swapwire server is the real client; this one lets Python tests and
scripts talk to a worker directly::

    c = Client("unix:///tmp/w.sock")
    c.Load(worker_pb2.LoadRequest(dir="/models/digits/1"))
    reply = c.Predict(worker_pb2.PredictRequest(...))
"""

import socket
import struct

import grpc

from swapwire.worker._server import parse_addr
from swapwire.worker.v1 import worker_pb2

_HEADER = struct.Struct(">I")


class CallError(Exception):
    """A Reply that carried an error. code() and details() read like grpc.RpcError's."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code.name, message))
        self._code = code
        self._message = message

    def code(self):
        return self._code

    def details(self):
        return self._message


def _code(n):
    for code in grpc.StatusCode:
        if code.value[0] == n:
            return code
    return grpc.StatusCode.UNKNOWN


class Client:
    """One connection to a worker; one call at a time."""

    def __init__(self, addr, timeout=20):
        scheme, where = parse_addr(addr)
        if scheme == "unix":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(where)
        else:
            host, _, port = where.rpartition(":")
            self.sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
        self._id = 0

    def close(self):
        self.sock.close()

    def send_raw(self, payload):
        """Sends payload as one frame and returns the Reply."""
        self.sock.sendall(_HEADER.pack(len(payload)) + payload)
        return self._recv()

    def _recv_exact(self, n):
        parts, got = [], 0
        while got < n:
            chunk = self.sock.recv(n - got)
            if not chunk:
                raise ConnectionError("the worker closed the connection")
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def _recv(self):
        (n,) = _HEADER.unpack(self._recv_exact(4))
        return worker_pb2.Reply.FromString(self._recv_exact(n))

    def call(self, timeout=None, **kind):
        """Sends a Call with one kind set, such as predict=request; returns the Reply."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        self._id += 1
        reply = self.send_raw(worker_pb2.Call(id=self._id, **kind).SerializeToString())
        if reply.HasField("error"):
            raise CallError(_code(reply.error.code), reply.error.message)
        if reply.id != self._id:
            raise ConnectionError("reply to call %d, want %d" % (reply.id, self._id))
        return reply

    def Info(self, request=None, timeout=None):
        return self.call(timeout, info=request or worker_pb2.InfoRequest()).info

    def Load(self, request, timeout=None):
        return self.call(timeout, load=request).load

    def Unload(self, request, timeout=None):
        return self.call(timeout, unload=request).unload

    def Predict(self, request, timeout=None):
        return self.call(timeout, predict=request).predict

    def PredictBatch(self, request, timeout=None):
        return self.call(timeout, predict_batch=request).predict_batch
