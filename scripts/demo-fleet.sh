#!/usr/bin/env bash
# A fleet of three `swapwire serve` replicas on one S3 store (a local
# versitygw on 127.0.0.1): upload a version through replica 1 and watch all
# three converge, then set a label through replica 2 and see every replica
# obey it. Run by `make demo-fleet`; needs versitygw (`make tools`) and
# Debian's python3-grpcio.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
PY=${PYTHON:-/usr/bin/python3}
GOBIN=$(go env GOPATH)/bin
VERSITYGW=${SWAPWIRE_VERSITYGW:-$(command -v versitygw || echo "$GOBIN/versitygw")}
POLL=${POLL:-1s}
WORK=$(mktemp -d)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
port() { echo $((20000 + RANDOM % 20000)); }

[[ -x $VERSITYGW ]] || { echo "no versitygw: run make tools" >&2; exit 1; }

step "starting an S3 server (versitygw) on 127.0.0.1 with bucket 'models'"
S3=127.0.0.1:$(port)
mkdir -p "$WORK/s3/data/models" "$WORK/s3/meta"
# Credentials travel in the environment only, never on a command line.
export AWS_ACCESS_KEY_ID=demo$RANDOM AWS_SECRET_ACCESS_KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
  "$VERSITYGW" --port "$S3" --quiet posix --sidecar "$WORK/s3/meta" "$WORK/s3/data" >"$WORK/s3.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (echo >"/dev/tcp/${S3%:*}/${S3#*:}") 2>/dev/null && break; sleep 0.1; done

# The replicas' admin identity: a token in the environment (never on a
# command line), accepted over the plaintext loopback connections.
SWAPWIRE_ADMIN_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export SWAPWIRE_ADMIN_TOKEN

step "starting 3 replicas: swapwire serve --model-store s3://models/demo --poll $POLL"
addrs=()
for i in 1 2 3; do
  addr=127.0.0.1:$(port)
  "$BIN/swapwire" serve --model-store s3://models/demo --s3-endpoint "http://$S3" --s3-path-style \
    --model-cache "$WORK/cache$i" --poll "$POLL" --model m --listen "$addr" --allow-plaintext-tokens \
    --worker "$PY scripts/fleet-model.py" --workers 1 2>"$WORK/replica$i.log" &
  pids+=($!)
  addrs+=("$addr")
done
for a in "${addrs[@]}"; do
  for _ in $(seq 1 100); do "$BIN/swapwire" models --addr "$a" --timeout 1s >/dev/null 2>&1 && break; sleep 0.1; done
done

# version ADDR [LABEL] prints the version that answers on ADDR, or "-".
version() {
  local out
  if out=$("$BIN/swapwire" predict --addr "$1" --model m --text x ${2:+--label "$2"} --timeout 5s 2>/dev/null); then
    grep -o '"version": *[0-9]*' <<<"$out" | grep -o '[0-9]*$'

  else
    echo -
  fi
}
table() {
  printf '  %-9s %-22s %s\n' replica address "$1"
  for i in 0 1 2; do printf '  %-9s %-22s %s\n' "$((i + 1))" "${addrs[$i]}" "$(version "${addrs[$i]}" "${2:-}")"; done
}

mkdir -p "$WORK/v1" "$WORK/v2"
echo one >"$WORK/v1/answer.txt"
echo two >"$WORK/v2/answer.txt"
step "uploading version 1 through replica 1"
"$BIN/swapwire" upload --addr "${addrs[0]}" --model m --quiet "$WORK/v1"
for a in "${addrs[@]}"; do "$BIN/swapwire" health --addr "$a" --service m --wait 60s >/dev/null; done
table "serving (before)"

step "uploading version 2 through replica 1; every replica polls the bucket"
"$BIN/swapwire" upload --addr "${addrs[0]}" --model m --quiet "$WORK/v2"
start=$(date +%s%3N)
took=("" "" "")
failed=0 sent=0 done=0
while ((done < 3)); do
  for i in 0 1 2; do
    [[ -n ${took[$i]} ]] && continue
    v=$(version "${addrs[$i]}")
    sent=$((sent + 1))
    if [[ $v == - ]]; then failed=$((failed + 1)); fi
    if [[ $v == 2 ]]; then
      ms=$(($(date +%s%3N) - start))
      took[$i]=$(printf '%d.%02ds' $((ms / 1000)) $((ms % 1000 / 10)))
      done=$((done + 1))
    fi
  done
  if (($(date +%s%3N) - start > 60000)); then
    echo "not converged within 60s" >&2; tail -5 "$WORK"/replica*.log >&2; exit 1
  fi
done
printf '  %-9s %-22s %-16s %s\n' replica address "serving (after)" "upload to first answer from v2"
for i in 0 1 2; do printf '  %-9s %-22s %-16s %s\n' "$((i + 1))" "${addrs[$i]}" "$(version "${addrs[$i]}")" "${took[$i]}"; done
echo "  requests while converging: $sent, failed: $failed"

step "pointing label canary at version 1 through replica 2"
"$BIN/swapwire" label --addr "${addrs[1]}" --model m --label canary --version 1 >/dev/null
for a in "${addrs[@]}"; do
  for _ in $(seq 1 100); do [[ $(version "$a" canary) == 1 ]] && break; sleep 0.1; done
done
table "label canary →" canary

step "done: the objects in the bucket"
find "$WORK/s3/data/models" -type f | sed "s|$WORK/s3/data/||" | sort
((failed == 0))
