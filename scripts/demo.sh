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
# The admin identity for this demo: the server and the CLI read the token
# from the environment, never from a command line.
SWAPWIRE_ADMIN_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export SWAPWIRE_ADMIN_TOKEN

cleanup() {
  if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  rm -rf "$STORE" "$LOG"
}
trap cleanup EXIT
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

step "serving examples/digits on $ADDR (store $STORE)"
"$BIN/digits" --store "$STORE" --listen "$ADDR" --poll 500ms --allow-plaintext-tokens 2>"$LOG" &
server=$!
if ! "$BIN/swapwire" health --addr "$ADDR" --wait 30s; then
  cat "$LOG"; exit 1
fi

step "predicting with version 1"
classify examples/digits/samples.json 5 1

step "publishing version 2 while serving"
"$BIN/swapwire" upload --addr "$ADDR" --model digits --quiet examples/digits/model/v2

step "waiting for the hot swap"
wait_version 2
"$BIN/swapwire" models --addr "$ADDR"

step "predicting with version 2"
classify examples/digits/samples.json 5 2

step "done: the server swapped from version 1 to 2 without a restart"
