"""grpc.health.v1 Check, without the grpcio-health-checking package.

Debian ships no python3 package for grpc_health, so the two health messages
are described here and built in a private descriptor pool: the runtime needs
only grpcio and protobuf, and a process that also imports grpc_health sees no
clash in the default pool.
"""

import threading

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

SERVICE_NAME = "grpc.health.v1.Health"

# ServingStatus values.
UNKNOWN = 0
SERVING = 1
NOT_SERVING = 2
SERVICE_UNKNOWN = 3


def _build_messages():
    f = descriptor_pb2.FileDescriptorProto(
        name="grpc/health/v1/health.proto", package="grpc.health.v1", syntax="proto3")
    req = f.message_type.add(name="HealthCheckRequest")
    req.field.add(name="service", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                  label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    resp = f.message_type.add(name="HealthCheckResponse")
    status = resp.enum_type.add(name="ServingStatus")
    for name, number in (("UNKNOWN", UNKNOWN), ("SERVING", SERVING),
                         ("NOT_SERVING", NOT_SERVING), ("SERVICE_UNKNOWN", SERVICE_UNKNOWN)):
        status.value.add(name=name, number=number)
    resp.field.add(name="status", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_ENUM,
                   type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus",
                   label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:  # protobuf < 4.22
        factory = message_factory.MessageFactory(pool)
        get = factory.GetPrototype
    return (get(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest")),
            get(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse")))


HealthCheckRequest, HealthCheckResponse = _build_messages()


class Health:
    """The status of each service name; the empty name is the whole worker."""

    def __init__(self, services):
        self._lock = threading.Lock()
        self._status = {name: NOT_SERVING for name in services}

    def set_all(self, status):
        with self._lock:
            for name in self._status:
                self._status[name] = status

    def get(self, service):
        with self._lock:
            return self._status.get(service)

    def _check(self, request, context):
        status = self.get(request.service)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service %r" % request.service)
        return HealthCheckResponse(status=status)

    def handler(self):
        """Returns the generic handler to add to a grpc.Server."""
        return grpc.method_handlers_generic_handler(SERVICE_NAME, {
            "Check": grpc.unary_unary_rpc_method_handler(
                self._check,
                request_deserializer=HealthCheckRequest.FromString,
                response_serializer=HealthCheckResponse.SerializeToString),
        })


def check_stub(channel):
    """Returns a callable that sends a Check on channel, for clients and tests."""
    return channel.unary_unary(
        "/%s/Check" % SERVICE_NAME,
        request_serializer=HealthCheckRequest.SerializeToString,
        response_deserializer=HealthCheckResponse.FromString)
