#!/usr/bin/env bash
# k8s-controlplane.sh builds, or reuses, a local Kubernetes control plane for
# the operator's tests and demo: etcd from Debian's etcd-server package,
# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl built
# from the Go module proxy, and kwok for simulated nodes. Nothing is
# downloaded from anywhere but Debian and the Go proxy.
#
#   scripts/k8s-controlplane.sh build       build what is missing, print the bin dir
#   scripts/k8s-controlplane.sh build-test  the same without kubectl, which
#                                           the operator's tests do not use
#   scripts/k8s-controlplane.sh dir         print the bin dir (no build)
#
# The binaries are cached by version under
# ${XDG_CACHE_HOME:-~/.cache}/swapwire/k8s/<version>/bin, so only the first
# run on a machine pays the build (see the README's test section for the
# measured time); later runs find them and return in a second.
# Point KUBEBUILDER_ASSETS at the printed directory.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
GO=${GO:-go}
CACHE=${SWAPWIRE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swapwire/k8s/$K8S_VERSION}
BIN=$CACHE/bin
# The components the operator's tests run; `build` adds kubectl for the demo.
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler)

log() { printf 'k8s-controlplane: %s\n' "$*" >&2; }

# etcd: Debian's etcd-server, linked into the cache dir.
ensure_etcd() {
  if [[ -x $BIN/etcd ]]; then return; fi
  local etcd
  etcd=$(command -v etcd || true)
  if [[ -z $etcd ]]; then
    log "installing Debian etcd-server"
    local sudo=
    [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq etcd-server >/dev/null
    etcd=$(command -v etcd)
  fi
  ln -sf "$etcd" "$BIN/etcd"
}

# The wrapper module: k8s.io/kubernetes replaces its staging modules with
# local paths, which `go install pkg@version` refuses; a module of our own
# that requires it and pins every staging module to the matching v0.x tag
# builds the commands from the proxy.
write_wrapper() {
  local dir=$1 minor=${K8S_VERSION#v1.}
  mkdir -p "$dir"
  local gomod
  gomod=$(cd "$dir" && GOFLAGS=-mod=mod $GO mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  {
    echo "module swapwire.local/k8sbuild"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\t\1 => \1 v0.'"$minor"'#p' "$gomod"
    echo ")"
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  (cd "$dir" && GOFLAGS=-mod=mod $GO mod tidy -e >/dev/null 2>&1 || true)
  (cd "$dir" && GOFLAGS=-mod=mod $GO mod download)
}

build_components() {
  local missing=() c
  for c in "${COMPONENTS[@]}"; do
    [[ -x $BIN/$c ]] || missing+=("$c")
  done
  [[ ${#missing[@]} == 0 ]] && return
  local wrap=$CACHE/src
  [[ -f $wrap/go.mod ]] || write_wrapper "$wrap"
  # One go build for all of them: the packages they share compile once and
  # the links run in parallel. Into a fresh directory, then moved, so a
  # build cut short leaves no binary that looks whole.
  log "building ${missing[*]} $K8S_VERSION (a cold build takes many minutes; later runs reuse it)"
  local start=$SECONDS out=$BIN/.build.$$
  rm -rf "$out"
  mkdir -p "$out"
  (cd "$wrap" && CGO_ENABLED=0 GOFLAGS=-mod=mod $GO build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" \
    -o "$out/" "${missing[@]/#/k8s.io/kubernetes/cmd/}")
  for c in "${missing[@]}"; do mv "$out/$c" "$BIN/$c"; done
  rmdir "$out"
  log "built ${missing[*]} in $((SECONDS - start)) s"
}

build_kwok() {
  [[ -x $BIN/kwok ]] && return
  log "building kwok $KWOK_VERSION"
  local start=$SECONDS
  GOBIN=$BIN CGO_ENABLED=0 $GO install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  log "built kwok in $((SECONDS - start)) s"
}

case ${1:-build} in
build | build-test)
  [[ ${1:-build} == build-test ]] || COMPONENTS+=(kubectl)
  mkdir -p "$BIN"
  ensure_etcd
  build_components
  build_kwok
  echo "$BIN"
  ;;
dir)
  echo "$BIN"
  ;;
*)
  echo "usage: $0 build|build-test|dir" >&2
  exit 2
  ;;
esac
