#!/usr/bin/env bash
# Installs the chart tools (helm, kubeconform, kustomize) from the Go module proxy into a cache
# that survives between runs, so CI and a clean machine use the same pinned builds.
#
#   scripts/tools.sh [helm|kubeconform|kustomize|all]   # default: all; prints the bin folder
#
# `all` is what the chart checks always need (helm, kubeconform); kustomize is built on demand,
# where no kubectl (which embeds it) is installed.
# Versions are pinned here and can be overridden by HELM_VERSION / KUBECONFORM_VERSION /
# KUSTOMIZE_VERSION.
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v3.22.0}
KUBECONFORM_VERSION=${KUBECONFORM_VERSION:-v0.8.0}
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-v5.8.1}
CACHE=${DEFI_SYNC_CACHE:-$HOME/.cache/defi-sync}
BIN=$CACHE/tools/bin

log() { printf 'tools.sh: %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is required to build helm and kubeconform"; exit 2; }
mkdir -p "$BIN"

# One installer at a time: parallel test files may ask for the same tool.
exec 9>"$CACHE/tools/.lock"
flock 9

install_tool() {
  local name=$1 version=$2 pkg=$3 ldflags=${4:-}
  local stamp=$BIN/.$name.version
  if [[ -x $BIN/$name && -f $stamp && $(<"$stamp") == "$version $ldflags" ]]; then
    return 0
  fi
  log "building $name $version from the Go module proxy (a few minutes on a cold cache)"
  local tmp
  tmp=$(mktemp -d)
  # CGO off: static binaries that do not depend on the machine's C library.
  CGO_ENABLED=0 GOBIN=$tmp go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version"
  mv -f "$tmp/$name" "$BIN/$name"
  rmdir "$tmp"
  printf '%s\n' "$version $ldflags" >"$stamp"
}

want=${1:-all}
case $want in
  helm|all)
    # What helm's own release build stamps in at link time: without it a go-installed helm
    # reports no version and assumes Kubernetes 1.20 wherever --kube-version cannot be passed
    # (helm install --dry-run, lint's deprecation checks). 1.37 matches its client-go v0.37.
    hx="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
      hx+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=${HELM_KUBE_MINOR:-37}"
    done
    install_tool helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "$hx"
    ;;&
  kubeconform|all)
    install_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform
    ;;
  kustomize)
    install_tool kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5
    ;;
  helm|kubeconform|kustomize|all) ;;
  *) log "unknown tool: $want (helm, kubeconform, kustomize or all)"; exit 2 ;;
esac

printf '%s\n' "$BIN"
