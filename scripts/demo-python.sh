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

cleanup() {
  if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "training two versions of the scikit-learn digits SVM"
"$PY" examples/sklearn-digits/train.py --out "$WORK/v1" --train-fraction 0.05
"$PY" examples/sklearn-digits/train.py --out "$WORK/v2"

step "serving with 2 Python workers on $ADDR"
mkdir -p "$WORK/store"
"$BIN/swapwire" serve --model-dir "$WORK/store" --model digits --listen "$ADDR" --poll 500ms \
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

classify() {
  local want=$1 ok=0 i
  for i in 0 1 2 3 4 5; do
    local label pixels out got version
    label=$("$PY" -c "import json;print(json.load(open('examples/sklearn-digits/samples.json'))['samples'][$i]['label'])")
    pixels=$("$PY" -c "import json;print(','.join(map(str,json.load(open('examples/sklearn-digits/samples.json'))['samples'][$i]['pixels'])))")
    out=$("$BIN/swapwire" predict --addr "$ADDR" --model digits --ints "$pixels")
    got=$(sed -E 's/.*"ints":\[([0-9]+)\].*/\1/' <<<"$out")
    version=$(sed -E 's/.*"version":([0-9]+).*/\1/' <<<"$out")
    printf 'image %d: true digit %s, predicted %s by version %s\n' "$i" "$label" "$got" "$version"
    [[ $got == "$label" && $version == "$want" ]] && ok=$((ok + 1))
  done
  echo "$ok of 6 correct from version $want"
  [[ $ok -ge 3 ]]
}

step "predicting with version 1 (trained on 5% of the data)"
classify 1

step "publishing version 2 (trained on all of it) while serving"
"$BIN/swapwire" upload --addr "$ADDR" --model digits --quiet "$WORK/v2"
for _ in $(seq 1 300); do
  out=$("$BIN/swapwire" predict --addr "$ADDR" --model digits --ints "$(printf '0,%.0s' {1..63})0")
  [[ $out == *'"version":2'* ]] && break
  sleep 0.1
done
"$BIN/swapwire" models --addr "$ADDR"

step "predicting with version 2"
classify 2

step "done: a new pool of Python workers took over without a restart"
grep -E 'model swapped|version loaded' "$WORK/server.log" | tail -3 || true
