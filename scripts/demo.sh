#!/usr/bin/env bash
# The quickstart: serve the Go digits classifier from a fresh model store on
# 127.0.0.1, classify sample images with `swapwire predict`, publish version 2
# while it serves, and show the answers coming from version 2. Run by `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
PORT=${PORT:-$((20000 + RANDOM % 20000))}
ADDR=127.0.0.1:$PORT
STORE=$(mktemp -d)
LOG=$STORE.log
server=

cleanup() {
  if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  rm -rf "$STORE" "$LOG"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "serving examples/digits on $ADDR (store $STORE)"
"$BIN/digits" --store "$STORE" --listen "$ADDR" --poll 500ms 2>"$LOG" &
server=$!
if ! "$BIN/swapwire" health --addr "$ADDR" --wait 30s; then
  cat "$LOG"; exit 1
fi

# classify N sample images and check the digits; prints one line per image.
classify() {
  local want_version=$1 ok=0 i
  for i in 0 1 2 3 4; do
    local label ints out got version
    label=$(python3 -c "import json;print(json.load(open('examples/digits/samples.json'))[$i]['label'])" 2>/dev/null || jq -r ".[$i].label" examples/digits/samples.json)
    ints=$(python3 -c "import json;print(','.join(map(str,json.load(open('examples/digits/samples.json'))[$i]['ints'])))" 2>/dev/null || jq -r ".[$i].ints|join(\",\")" examples/digits/samples.json)
    out=$("$BIN/swapwire" predict --addr "$ADDR" --model digits --ints "$ints")
    got=$(sed -E 's/.*"ints":\[([0-9]+)\].*/\1/' <<<"$out")
    version=$(sed -E 's/.*"version":([0-9]+).*/\1/' <<<"$out")
    printf 'image %d: true digit %s, predicted %s by version %s\n' "$i" "$label" "$got" "$version"
    [[ $got == "$label" && $version == "$want_version" ]] && ok=$((ok + 1))
  done
  echo "$ok of 5 correct from version $want_version"
  [[ $ok -ge 3 ]]
}

step "predicting with version 1"
classify 1

step "publishing version 2 while serving"
"$BIN/swapwire" upload --addr "$ADDR" --model digits --quiet examples/digits/model/v2

step "waiting for the hot swap"
for _ in $(seq 1 100); do
  out=$("$BIN/swapwire" predict --addr "$ADDR" --model digits --ints "$(printf '0,%.0s' {1..63})0")
  [[ $out == *'"version":2'* ]] && break
  sleep 0.1
done
"$BIN/swapwire" models --addr "$ADDR"

step "predicting with version 2"
classify 2

step "done: the server swapped from version 1 to 2 without a restart"
