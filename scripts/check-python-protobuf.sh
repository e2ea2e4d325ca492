#!/usr/bin/env bash
# Runs the Python SDK on a current protobuf runtime built from protobuf's own
# sources, not on Debian's python3-protobuf (4.21): imports every swapwire
# module, runs the SDK's test suite, and runs the installed-package test
# (scripts/test-sdk-python.sh: a `swapwire serve` with a worker started from a
# fresh venv, and the sync and asyncio clients) with that runtime in the venv.
#
#   scripts/check-python-protobuf.sh PROTOBUF_GIT_DIR REF   # e.g. a mirror, v6.31.1
#   scripts/check-python-protobuf.sh PROTOBUF_CHECKOUT      # a source tree
#
# `make check-python-protobuf PROTOBUF_SRC=... PROTOBUF_REF=...` runs it. Not
# part of `make test`: it needs a copy of github.com/protocolbuffers/protobuf.
#
# The runtime is protobuf's pure-Python implementation
# (PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python; the upb C extension needs
# protobuf's Bazel build). Its generated modules (descriptor_pb2 and the
# well-known types) are made here with Debian's protoc 3.21, plus two things
# the protobuf build makes with a newer protoc, which
# scripts/python-protobuf-descriptor.py adds (its docstring says how):
# descriptor_pb2's top-level enums and resolved features, and
# python_edition_defaults.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=${1:?usage: $0 PROTOBUF_GIT_DIR REF | $0 PROTOBUF_CHECKOUT}
ref=${2:-}
PY=${PYTHON:-/usr/bin/python3}
PROTOC=${PROTOC:-protoc}
GO=${GO:-go}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset PYTHONPATH

wkt=(any api descriptor duration empty field_mask source_context struct timestamp type wrappers)
protos=(google/protobuf/compiler/plugin.proto)
for p in "${wkt[@]}"; do protos+=("google/protobuf/$p.proto"); done
paths=(python/google upb/reflection/internal/upb_edition_defaults.h)
for p in "${protos[@]}"; do paths+=("src/$p"); done

echo "== exporting the protobuf Python runtime"
mkdir -p "$work/src" "$work/site"
if [[ -n $ref ]]; then
	gitdir=$src
	[[ -d $src/.git ]] && gitdir=$src/.git
	commit=$(git --git-dir="$gitdir" rev-parse --verify "$ref^{commit}")
	echo "$ref = $commit"
	git --git-dir="$gitdir" archive "$commit" -- "${paths[@]}" | tar -x -C "$work/src"
elif [[ -f $src/python/google/protobuf/__init__.py ]]; then
	(cd "$src" && tar -c "${paths[@]}") | tar -x -C "$work/src"
else
	echo "$src: not a protobuf source tree; give a git directory and a ref" >&2
	exit 2
fi
for p in "${paths[@]}"; do
	[[ -e $work/src/$p ]] || { echo "the export lacks $p" >&2; exit 1; }
done
version=$(sed -n "s/^__version__ = '\(.*\)'\$/\1/p" "$work/src/python/google/protobuf/__init__.py")
[[ -n $version ]] || { echo "no __version__ in python/google/protobuf/__init__.py" >&2; exit 1; }
echo "protobuf Python $version"

echo "== generating its well-known types with $("$PROTOC" --version)"
cp -r "$work/src/python/google" "$work/site/"
find "$work/site" \( -name '*_test.py' -o -name '*.cc' -o -name '*.h' \) -delete
(cd "$work/src/src" &&
	"$PROTOC" -I. --python_out="$work/site" "${protos[@]}" &&
	"$PROTOC" -I. --include_imports --descriptor_set_out="$work/descriptor.pb" google/protobuf/descriptor.proto)
"$PY" "$root/scripts/python-protobuf-descriptor.py" "$work/descriptor.pb" \
	"$work/site/google/protobuf/descriptor_pb2.py" \
	"$work/src/upb/reflection/internal/upb_edition_defaults.h" \
	"$work/src/python/google/protobuf/internal/python_edition_defaults.py.template" \
	"$work/site/google/protobuf/internal/python_edition_defaults.py"

echo "== a venv where it shadows Debian's protobuf (grpcio and numpy from Debian)"
export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python
"$PY" -m venv --system-site-packages "$work/venv"
vpy=$work/venv/bin/python
cp -r "$work/site/." "$("$vpy" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/"
"$vpy" - "$version" "$work/venv" <<'EOF'
import sys
import google.protobuf, grpc
from google.protobuf.internal import api_implementation
print("protobuf", google.protobuf.__version__, api_implementation.Type(), google.protobuf.__file__)
print("grpcio", grpc.__version__, grpc.__file__)
assert google.protobuf.__version__ == sys.argv[1], "not the exported runtime"
assert google.protobuf.__file__.startswith(sys.argv[2]), "not the venv's protobuf"
assert api_implementation.Type() == "python"
EOF
"$vpy" "$root/scripts/python-protobuf-descriptor.py" --check

echo "== importing every swapwire module"
(cd "$root/sdk/python" && "$vpy" - <<'EOF'
import importlib, pkgutil
import google.protobuf
import swapwire
names = ["swapwire"] + [m.name for m in pkgutil.walk_packages(swapwire.__path__, "swapwire.")]
for name in names:
    importlib.import_module(name)
print("imported %d modules on protobuf %s: %s" % (len(names), google.protobuf.__version__, " ".join(names)))
EOF
)

echo "== the SDK's tests, with workers on the same interpreter"
(cd "$root/sdk/python" && SWAPWIRE_TEST_PYTHON=$vpy "$vpy" -m unittest discover -s tests)

echo "== the installed package: a worker behind swapwire serve, the sync and asyncio clients"
SWAPWIRE_PY_SITE=$work/site SWAPWIRE_EXPECT_PROTOBUF="$version python" PYTHON=$PY GO=$GO \
	"$root/scripts/test-sdk-python.sh"
echo "the Python SDK works on protobuf $version (pure Python)"
