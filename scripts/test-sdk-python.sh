#!/usr/bin/env bash
# Builds the Python SDK as a wheel (setuptools from Debian, offline), installs
# it into a fresh virtual environment outside the checkout, and from there
# runs a worker (python -m swapwire.worker --model mymod:Model) behind
# `swapwire serve` and the sync and asyncio clients against it, with no
# PYTHONPATH. Run by `make test-python`.
#
# SWAPWIRE_PY_SITE, when set, is a directory whose contents are copied into
# the venv's site-packages before the wheel is installed: a protobuf runtime
# that shadows Debian's (scripts/check-python-protobuf.sh uses it, with
# SWAPWIRE_EXPECT_PROTOBUF="VERSION IMPLEMENTATION" for check.py to verify).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-/usr/bin/python3}
GO=${GO:-go}
work=$(mktemp -d)
server=
cleanup() {
	if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
		kill -TERM "$server"
		wait "$server" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
unset PYTHONPATH

echo "== building the wheel"
# A copy, so the build leaves no build/ or egg-info in the checkout.
mkdir -p "$work/src"
cp -r "$root/sdk/python/pyproject.toml" "$root/sdk/python/README.md" "$root/sdk/python/swapwire" "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
"$PY" -m pip wheel --quiet --no-deps --no-build-isolation --no-index -w "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/swapwire-*.whl)
echo "$wheel"
for f in swapwire/py.typed swapwire/v1/prediction_pb2.pyi swapwire/worker/__main__.py swapwire/aio.py; do
	"$PY" -c 'import sys, zipfile; sys.exit(sys.argv[2] not in zipfile.ZipFile(sys.argv[1]).namelist())' "$wheel" "$f" ||
		{ echo "the wheel lacks $f"; exit 1; }
done

echo "== installing it into a fresh venv"
# --system-site-packages: grpcio, protobuf and numpy come from Debian.
"$PY" -m venv --system-site-packages "$work/venv"
if [[ -n ${SWAPWIRE_PY_SITE:-} ]]; then
	cp -r "$SWAPWIRE_PY_SITE"/. "$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/"
fi
"$work/venv/bin/python" -c 'import google.protobuf as p; from google.protobuf.internal import api_implementation as a; print("protobuf", p.__version__, a.Type(), p.__file__)'
"$work/venv/bin/python" -m pip install --quiet --no-index "$wheel"
"$work/venv/bin/python" -m pip show swapwire | grep -E '^(Name|Version|Location)'

echo "== serving mymod:Model through python -m swapwire.worker"
mkdir -p "$work/project" "$work/store" "$work/v1"
cp "$root/sdk/python/packagetest/mymod.py" "$root/sdk/python/packagetest/check.py" "$work/project/"
echo 5 >"$work/v1/threshold.txt"
# The admin identity for the upload, from the environment, never a flag.
SWAPWIRE_ADMIN_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export SWAPWIRE_ADMIN_TOKEN
(cd "$root" && "$GO" build -o "$work/swapwire" ./cmd/swapwire)
cd "$work/project"
"$work/swapwire" serve --model-dir "$work/store" --model summer --listen 127.0.0.1:0 --workers 1 --allow-plaintext-tokens \
	--worker "$work/venv/bin/python -m swapwire.worker --model mymod:Model" 2>"$work/server.log" &
server=$!
addr=
for _ in $(seq 1 200); do
	addr=$(grep -o 'msg=serving addr=[0-9.:]*' "$work/server.log" | head -1 | sed 's/.*addr=//') || true
	[[ -n $addr ]] && break
	kill -0 "$server" 2>/dev/null || break
	sleep 0.05
done
[[ -n $addr ]] || { echo "swapwire serve did not start:"; cat "$work/server.log"; exit 1; }
"$work/swapwire" upload --addr "$addr" --model summer --quiet "$work/v1"
if ! "$work/swapwire" health --addr "$addr" --service summer --wait 60s; then
	cat "$work/server.log"
	exit 1
fi
"$work/venv/bin/python" check.py "$addr" "$root" || { cat "$work/server.log"; exit 1; }
