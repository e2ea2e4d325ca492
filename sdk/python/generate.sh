#!/bin/sh
# Regenerates the checked-in Python stubs under sdk/python from proto/.
# Run from anywhere; `make generate` calls it. Output is deterministic for a
# given grpc_tools version, so a second run leaves the tree unchanged.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-/usr/bin/python3}
cd "$root"

rm -f sdk/python/swapwire/v1/*_pb2.py sdk/python/swapwire/v1/*_pb2_grpc.py \
	sdk/python/swapwire/worker/v1/*_pb2.py sdk/python/swapwire/worker/v1/*_pb2_grpc.py \
	sdk/python/swapwire/rekcurd/*_pb2.py sdk/python/swapwire/rekcurd/*_pb2_grpc.py

"$python" -m grpc_tools.protoc -I proto \
	--python_out=sdk/python --grpc_python_out=sdk/python \
	proto/swapwire/v1/*.proto proto/swapwire/worker/v1/*.proto

# The Rekcurd protocol (package rekcurd on the wire) is generated as
# swapwire.rekcurd, so that it never shadows a real `rekcurd` package: the
# virtual include path maps proto/rekcurd to swapwire/rekcurd, making the
# stubs import `from swapwire.rekcurd import rekcurd_pb2`.
"$python" -m grpc_tools.protoc -Iswapwire/rekcurd=proto/rekcurd \
	--python_out=sdk/python --grpc_python_out=sdk/python \
	swapwire/rekcurd/rekcurd.proto

# protoc creates no packages; these make the stubs importable.
for d in sdk/python/swapwire sdk/python/swapwire/v1 sdk/python/swapwire/worker/v1 \
	sdk/python/swapwire/rekcurd; do
	[ -f "$d/__init__.py" ] || : >"$d/__init__.py"
done
