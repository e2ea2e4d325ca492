#!/bin/sh
# Regenerates the checked-in Python stubs under sdk/python from proto/.
# Run from anywhere; `make generate` calls it. Output is deterministic for a
# given protoc version, so a second run leaves the tree unchanged.
#
# It uses Debian's protoc (protobuf-compiler, 3.21) with Debian's gRPC Python
# plugin (protobuf-compiler-grpc), not python3-grpc-tools: that one bundles
# protoc 3.5, whose `serialized_pb=` output current protobuf runtimes refuse
# ("Descriptors cannot be created directly"). protoc 3.21 writes the builder
# style, which imports on Debian's protobuf 4.21 and on current runtimes, and
# .pyi type stubs beside each module.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
protoc=${PROTOC:-protoc}
plugin=${GRPC_PYTHON_PLUGIN:-$(command -v grpc_python_plugin || true)}
[ -n "$plugin" ] || { echo "generate.sh: grpc_python_plugin not found (Debian: protobuf-compiler-grpc)" >&2; exit 1; }
cd "$root"

for d in sdk/python/swapwire/v1 sdk/python/swapwire/worker/v1 sdk/python/swapwire/rekcurd; do
	rm -f "$d"/*_pb2.py "$d"/*_pb2.pyi "$d"/*_pb2_grpc.py
done

"$protoc" -I proto --plugin=protoc-gen-grpc_python="$plugin" \
	--python_out=sdk/python --pyi_out=sdk/python --grpc_python_out=sdk/python \
	proto/swapwire/v1/*.proto proto/swapwire/worker/v1/*.proto

# The Rekcurd protocol (package rekcurd on the wire) is generated as
# swapwire.rekcurd, so that it never shadows a real `rekcurd` package: the
# virtual include path maps proto/rekcurd to swapwire/rekcurd, making the
# stubs import `from swapwire.rekcurd import rekcurd_pb2`.
"$protoc" -Iswapwire/rekcurd=proto/rekcurd --plugin=protoc-gen-grpc_python="$plugin" \
	--python_out=sdk/python --pyi_out=sdk/python --grpc_python_out=sdk/python \
	swapwire/rekcurd/rekcurd.proto

# protoc creates no packages; these make the stubs importable.
for d in sdk/python/swapwire sdk/python/swapwire/v1 sdk/python/swapwire/worker/v1 \
	sdk/python/swapwire/rekcurd; do
	[ -f "$d/__init__.py" ] || : >"$d/__init__.py"
done
