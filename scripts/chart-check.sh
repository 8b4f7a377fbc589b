#!/usr/bin/env bash
# Checks the Helm chart without a cluster, as CI runs it:
#   - helm lint --strict, for the default values and each ci/ values file (all-on: every option);
#   - helm template for the oldest and newest supported Kubernetes (--kube-version: a
#     go-installed helm would otherwise assume an old default), each object validated by
#     kubeconform in strict mode against schemas generated from Kubernetes' own OpenAPI document
#     (scripts/kube-schemas.sh), so unknown or misspelt fields fail;
#   - k8s/ is what the chart renders today, and its kustomize base and example overlay build
#     and validate.
# helm and kubeconform come from scripts/tools.sh (Go module proxy, cached); kustomize is
# kubectl's when kubectl is installed, else built by scripts/tools.sh too.
#
#   scripts/chart-check.sh [lint|template|k8s|all]     (default all)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHART=$ROOT/helm/defi-sync
# Oldest and newest supported Kubernetes: Chart.yaml's kubeVersion and scripts/kube-schemas.sh agree.
export KUBE_VERSIONS=${KUBE_VERSIONS:-"1.31.14 1.37.2"}
VALUES_FILES=("" "$CHART/ci/all-on-values.yaml" "$CHART/ci/managed-database-values.yaml")
what=${1:-all}

BIN=$("$ROOT/scripts/tools.sh" all | tail -n1)
HELM=$BIN/helm
KUBECONFORM=$BIN/kubeconform
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

step() { printf '\n== %s\n' "$*"; }

values_args() { [[ -n $1 ]] && printf -- '-f\n%s\n' "$1"; true; }
label() { [[ -n $1 ]] && basename "$1" || echo "default values"; }

kubeconform_check() {
  local version=$1 file=$2
  "$KUBECONFORM" -strict -summary -kubernetes-version "$version" \
    -schema-location "$SCHEMAS/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    "$file"
}

if [[ $what == lint || $what == all ]]; then
  for values in "${VALUES_FILES[@]}"; do
    for version in $KUBE_VERSIONS; do
      step "helm lint ($(label "$values"), Kubernetes $version)"
      mapfile -t args < <(values_args "$values")
      "$HELM" lint --strict "$CHART" "${args[@]}" --kube-version "$version"
    done
  done
fi

if [[ $what == template || $what == all || $what == k8s ]]; then
  SCHEMAS=$("$ROOT/scripts/kube-schemas.sh" | tail -n1)
fi

if [[ $what == template || $what == all ]]; then
  for values in "${VALUES_FILES[@]}"; do
    for version in $KUBE_VERSIONS; do
      step "helm template + kubeconform ($(label "$values"), Kubernetes $version)"
      mapfile -t args < <(values_args "$values")
      file=$OUT/render-$version-$(label "$values" | tr ' ' '-').yaml
      "$HELM" template defi-sync "$CHART" "${args[@]}" --namespace defi --kube-version "$version" >"$file"
      echo "rendered $(grep -c '^kind:' "$file") objects"
      kubeconform_check "$version" "$file"
    done
  done
fi

if [[ $what == k8s || $what == all ]]; then
  step "k8s/ up to date with the chart"
  (cd "$ROOT" && HELM=$HELM node --import tsx k8s/render.ts --check)
  newest=${KUBE_VERSIONS##* }
  if command -v kubectl >/dev/null; then
    kustomize=(kubectl kustomize)
  else
    kustomize=("$("$ROOT/scripts/tools.sh" kustomize | tail -n1)/kustomize" build)
  fi
  for dir in base overlays/example; do
    step "k8s/$dir builds and validates (Kubernetes $newest)"
    "${kustomize[@]}" "$ROOT/k8s/$dir" >"$OUT/kustomize.yaml"
    echo "built $(grep -c '^kind:' "$OUT/kustomize.yaml") objects"
    kubeconform_check "$newest" "$OUT/kustomize.yaml"
  done
fi

step "chart checks passed"
