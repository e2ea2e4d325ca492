#!/usr/bin/env bash
# Packs the Node client with `npm pack`, installs the tarball into a
# temporary project outside the checkout (with its dependencies from the npm
# registry), type-checks a TypeScript program against the package's
# declarations and runs it against a real `swapwire serve`. Run by
# `make test-node`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-/usr/bin/python3}
GO=${GO:-go}
TYPESCRIPT_VERSION=5.9.3
TYPES_NODE_VERSION=$(node -p "require('$root/sdk/node/package-lock.json').packages['node_modules/@types/node'].version")
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

echo "== npm pack"
(cd "$root/sdk/node" && npm pack --silent --pack-destination "$work") >/dev/null
tarball=$(ls "$work"/swapwire-client-*.tgz)
listing=$(tar -tzf "$tarball")
for f in package/index.js package/index.d.ts package/proto/swapwire/v1/prediction.proto \
	package/proto/swapwire/v1/model.proto package/proto/swapwire/v1/value.proto; do
	grep -qx "$f" <<<"$listing" || { echo "the tarball lacks $f:"; echo "$listing"; exit 1; }
done
if tar -xzOf "$tarball" package/package.json | grep -q '"private"'; then
	echo "package.json is private"; exit 1
fi

echo "== installing it into a temporary project"
mkdir -p "$work/app"
cp "$root/sdk/node/packtest/check.ts" "$work/app/"
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "$tarball" "typescript@$TYPESCRIPT_VERSION" "@types/node@$TYPES_NODE_VERSION"
[[ ! -L node_modules/@swapwire/client ]] || { echo "installed as a symlink"; exit 1; }
# --skipLibCheck false: the package's index.d.ts is checked too.
npx tsc --strict --target es2022 --module commonjs --types node check.ts

echo "== serving an echo model"
mkdir -p "$work/store" "$work/v1"
cp "$root/sdk/node/packtest/echo.py" "$work/"
echo 1 >"$work/v1/version.txt"
SWAPWIRE_ADMIN_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export SWAPWIRE_ADMIN_TOKEN
(cd "$root" && "$GO" build -o "$work/swapwire" ./cmd/swapwire)
# The worker runs the Python SDK from the checkout: this test is about the
# Node package (the Python one has scripts/test-sdk-python.sh).
PYTHONPATH="$root/sdk/python" "$work/swapwire" serve --model-dir "$work/store" --model echo \
	--listen 127.0.0.1:0 --workers 1 --allow-plaintext-tokens \
	--worker "$PY -m swapwire.worker --model echo:Model --path $work" 2>"$work/server.log" &
server=$!
addr=
for _ in $(seq 1 200); do
	addr=$(grep -o 'msg=serving addr=[0-9.:]*' "$work/server.log" | head -1 | sed 's/.*addr=//') || true
	[[ -n $addr ]] && break
	kill -0 "$server" 2>/dev/null || break
	sleep 0.05
done
[[ -n $addr ]] || { echo "swapwire serve did not start:"; cat "$work/server.log"; exit 1; }
"$work/swapwire" upload --addr "$addr" --model echo --quiet "$work/v1"
if ! "$work/swapwire" health --addr "$addr" --service echo --wait 60s; then
	cat "$work/server.log"
	exit 1
fi
node check.js "$addr" || { cat "$work/server.log"; exit 1; }
