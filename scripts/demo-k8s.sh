#!/usr/bin/env bash
# The operator demo, all on 127.0.0.1 and all stopped at the end: a local
# control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok nodes), the ModelService CRD and the operator; a
# ModelService whose store is shared with a real Swapwire server on this
# host; a version switch by `kubectl apply`, seen in the server's answers
# and in the resource's status. Run by `make demo-k8s`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
K8S=$(scripts/k8s-controlplane.sh dir)
WORK=$(mktemp -d)
STORE=$WORK/store
export KUBECONFIG=$WORK/kubeconfig
pids=()

cleanup() {
  local status=$? i log
  if [[ $status != 0 ]]; then
    "$K8S/kubectl" get modelservice,deployment,pod -o wide --request-timeout 5s >&2 || true
    "$K8S/kubectl" get modelservice -o jsonpath='{range .items[*]}{.metadata.name}: {.status}{"\n"}{end}' --request-timeout 5s >&2 || true
    # Say why before the logs go: the last lines of every process's log.
    for log in "$WORK"/*.log; do
      [[ -f $log ]] || continue
      echo "--- last lines of $(basename "$log")" >&2
      tail -n 15 "$log" >&2
    done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# bg NAME CMD... runs CMD in the background, logging to $WORK/NAME.log.
bg() {
  local name=$1
  shift
  "$@" >"$WORK/$name.log" 2>&1 &
  pids+=($!)
}
# until_ok SECONDS CMD... retries CMD every 0.2 s until it succeeds.
until_ok() {
  local tries=$(($1 * 5))
  shift
  for ((; tries > 0; tries--)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "gave up waiting for: $*" >&2
  return 1
}
kubectl() { "$K8S/kubectl" "$@"; }

step "starting etcd and kube-apiserver on 127.0.0.1 ($WORK)"
etcd_port=$(freeport) peer_port=$(freeport) api_port=$(freeport)
bg etcd "$K8S/etcd" --data-dir "$WORK/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" --initial-cluster "default=http://127.0.0.1:$peer_port"
openssl genrsa -out "$WORK/sa.key" 2048 2>/dev/null
openssl rsa -in "$WORK/sa.key" -pubout -out "$WORK/sa.pub" 2>/dev/null
token=$(openssl rand -hex 24)
( umask 077
  echo "$token,admin,admin,system:masters" >"$WORK/tokens.csv"
  cat >"$KUBECONFIG" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:$api_port", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: "$token"}}]
contexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]
current-context: local
EOF
)
unset token
# WatchList=false: 1.37 turns watches from resourceVersion 0 into watch-list
# requests, which Debian's etcd 3.4 cannot serve, and kwok watches from 0.
# TaintNodesByCondition would give each node a not-ready taint that only the
# node-lifecycle controller (not run here: kwok sends no heartbeats) lifts.
bg kube-apiserver "$K8S/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --secure-port "$api_port" --cert-dir "$WORK/certs" \
  --token-auth-file "$WORK/tokens.csv" --authorization-mode RBAC \
  --service-account-key-file "$WORK/sa.pub" --service-account-signing-key-file "$WORK/sa.key" \
  --service-account-issuer https://kubernetes.default.svc --service-cluster-ip-range 10.0.0.0/24 \
  --endpoint-reconciler-type none --feature-gates WatchList=false --disable-admission-plugins TaintNodesByCondition
until_ok 60 kubectl get --raw /readyz
kubectl version | grep Server

step "starting kube-controller-manager, kube-scheduler and kwok with three simulated nodes"
# serviceaccount-controller makes each namespace's default ServiceAccount,
# without which the ServiceAccount admission plugin refuses every pod.
bg kube-controller-manager "$K8S/kube-controller-manager" --kubeconfig "$KUBECONFIG" --leader-elect=false --secure-port 0 \
  --controllers deployment-controller,replicaset-controller,garbage-collector-controller,serviceaccount-controller
bg kube-scheduler "$K8S/kube-scheduler" --kubeconfig "$KUBECONFIG" --leader-elect=false --secure-port 0
bg kwok "$K8S/kwok" --kubeconfig "$KUBECONFIG" --config operator/controller/testdata/kwok-stages.yaml \
  --manage-all-nodes=true --node-lease-duration-seconds 0 --server-address=
for i in 0 1 2; do
  kubectl apply -f - <<EOF >/dev/null
apiVersion: v1
kind: Node
metadata: {name: node-$i, labels: {kubernetes.io/hostname: node-$i}, annotations: {kwok.x-k8s.io/node: fake}}
EOF
done
until_ok 30 kubectl wait --for=condition=Ready node --all --timeout=1s
kubectl get nodes

step "installing the CRD and RBAC, starting the operator"
kubectl apply -f deploy/operator/crd -f deploy/operator/rbac
kubectl wait --for=condition=Established crd/modelservices.serving.swapwire.dev --timeout=30s
bg swapwire-operator "$BIN/swapwire-operator" --metrics-listen 0 --health-listen 0 --resync 2s --log-format text

step "a real Swapwire server on this host, on the store the ModelService names"
PORT=$(freeport)
ADDR=127.0.0.1:$PORT
SWAPWIRE_ADMIN_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export SWAPWIRE_ADMIN_TOKEN # the server's admin identity and the CLI's token
bg digits "$BIN/digits" --store "$STORE" --listen "$ADDR" --poll 300ms --allow-plaintext-tokens
"$BIN/swapwire" health --addr "$ADDR" --wait 30s >/dev/null
"$BIN/swapwire" upload --addr "$ADDR" --model digits --quiet examples/digits/model/v2
"$BIN/swapwire" models --addr "$ADDR"

modelservice() {
  cat <<EOF
apiVersion: serving.swapwire.dev/v1alpha1
kind: ModelService
metadata: {name: digits}
spec:
  serviceLevel: staging
  image: registry.example.com/swapwire-digits:1.0
  store: {volume: {hostPath: "$STORE"}}
  models: [{name: digits, version: $1}]
  worker: {command: python3 /app/worker.py, count: 2}
  replicas: 2
EOF
}

step "kubectl apply: a ModelService pinned to version 1"
modelservice 1 | kubectl apply -f -
until_ok 60 bash -c "[[ \$('$K8S/kubectl' get modelservice digits -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}') == True ]]"
kubectl get modelservice,deployment,replicaset,pod,service,configmap -o wide
wait_version 1
classify examples/digits/samples.json 5 1

step "kubectl apply: version 2 (the store policy changes; no pod restarts)"
modelservice 2 | kubectl apply -f -
until_ok 30 bash -c "[[ \$('$K8S/kubectl' get modelservice digits -o jsonpath='{.status.models[0].servingVersion}') == 2 ]]"
wait_version 2
classify examples/digits/samples.json 5 2
kubectl get modelservice digits
kubectl get modelservice digits -o jsonpath='{.status}' | python3 -m json.tool
kubectl get events --field-selector involvedObject.name=digits

step "done: kubectl apply switched the served version from 1 to 2; stopping everything"
