#!/usr/bin/env bash
# Serve the scikit-learn digits model as a pool of Python worker processes
# with `swapwire serve`, predict, publish a second version and show the swap.
# Run by `make demo-python`; needs Debian's python3-sklearn and python3-grpcio.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
PY=${PYTHON:-/usr/bin/python3}
PORT=${PORT:-$((20000 + RANDOM % 20000))}
ADDR=127.0.0.1:$PORT
WORK=$(mktemp -d)
server=
# The admin identity for this demo: the server and the CLI read the token
# from the environment, never from a command line.
SWAPWIRE_ADMIN_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export SWAPWIRE_ADMIN_TOKEN

cleanup() {
  if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

step "training two versions of the scikit-learn digits SVM"
"$PY" examples/sklearn-digits/train.py --out "$WORK/v1" --train-fraction 0.05
"$PY" examples/sklearn-digits/train.py --out "$WORK/v2"

step "serving with 2 Python workers on $ADDR"
mkdir -p "$WORK/store"
"$BIN/swapwire" serve --model-dir "$WORK/store" --model digits --listen "$ADDR" --poll 500ms --allow-plaintext-tokens \
  --worker "$PY examples/sklearn-digits/worker.py" --workers 2 2>"$WORK/server.log" &
server=$!
for _ in $(seq 1 100); do # until the server listens
  "$BIN/swapwire" models --addr "$ADDR" --timeout 1s >/dev/null 2>&1 && break
  sleep 0.1
done
"$BIN/swapwire" upload --addr "$ADDR" --model digits --quiet "$WORK/v1"
if ! "$BIN/swapwire" health --addr "$ADDR" --service digits --wait 60s; then
  cat "$WORK/server.log"; exit 1
fi


step "predicting with version 1 (trained on 5% of the data)"
classify examples/sklearn-digits/samples.json 6 1

step "publishing version 2 (trained on all of it) while serving"
"$BIN/swapwire" upload --addr "$ADDR" --model digits --quiet "$WORK/v2"
wait_version 2
"$BIN/swapwire" models --addr "$ADDR"

step "predicting with version 2"
classify examples/sklearn-digits/samples.json 6 2

step "done: a new pool of Python workers took over without a restart"
grep -E 'model swapped|version loaded' "$WORK/server.log" | tail -3 || true
