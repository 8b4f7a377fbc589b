#!/usr/bin/env bash
# Produces the JSON-schema folder kubeconform validates against, without network access beyond
# the Go module proxy: Kubernetes' own OpenAPI document ships in the k8s.io/kubernetes module
# (api/openapi-spec/swagger.json) and the PrometheusRule CRD in the prometheus-operator module.
# Only the module zips are fetched (nothing is built). Prints the schema folder.
#
#   scripts/kube-schemas.sh            # the versions in KUBE_VERSIONS
set -euo pipefail

# Oldest and newest Kubernetes the chart supports (keep in step with Chart.yaml kubeVersion).
KUBE_VERSIONS=${KUBE_VERSIONS:-"1.31.14 1.37.2"}
PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
CACHE=${DEFI_SYNC_CACHE:-$HOME/.cache/defi-sync}
OUT=$CACHE/kube-schemas
ROOT=$(cd "$(dirname "$0")/.." && pwd)

log() { printf 'kube-schemas.sh: %s\n' "$*" >&2; }

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9

module_dir() {
  # `go mod download` outside any module works in a temporary folder; -json names the unpacked dir.
  (cd "$(mktemp -d)" && go mod download -json "$1@$2") | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
}

# The converter's own text is part of the stamp: changing it regenerates the folders.
gen_hash=$(sha256sum "$ROOT/scripts/kube-schemas.ts" | cut -c1-16)
crd=""
for v in $KUBE_VERSIONS; do
  dir=$OUT/v$v-standalone-strict
  stamp="$gen_hash $PROMETHEUS_OPERATOR_VERSION"
  if [[ -f $dir/.stamp && $(<"$dir/.stamp") == "$stamp" ]]; then
    continue
  fi
  if [[ -z $crd ]]; then
    pdir=$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
    crd=$pdir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml
    [[ -f $crd ]] || { log "no PrometheusRule CRD in $pdir"; exit 1; }
  fi
  log "generating schemas for Kubernetes $v"
  kdir=$(module_dir k8s.io/kubernetes "v$v")
  [[ -f $kdir/api/openapi-spec/swagger.json ]] || { log "no OpenAPI document in $kdir"; exit 1; }
  rm -rf "$dir"
  (cd "$ROOT" && node --import tsx scripts/kube-schemas.ts \
    --swagger "$kdir/api/openapi-spec/swagger.json" --version "$v" --out "$OUT" --crd "$crd") >&2
  printf '%s\n' "$stamp" >"$dir/.stamp"
done
printf '%s\n' "$OUT"
