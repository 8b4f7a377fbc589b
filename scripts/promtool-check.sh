#!/usr/bin/env bash
# Renders the chart's alert rules as a plain Prometheus rules file and checks it with promtool.
#
#   scripts/promtool-check.sh [--out FILE] [helm template arguments, e.g. --set prometheusRule.failedFor=15m]
#
# Without --out the file is temporary (a check only). helm comes from scripts/tools.sh, promtool
# from the Debian package prometheus (scripts/test-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

out=
if [[ ${1:-} == --out ]]; then
  out=${2:?--out needs a file name}
  shift 2
fi
command -v promtool >/dev/null || { echo "promtool-check.sh: promtool not found (scripts/test-tools.sh installs it)" >&2; exit 2; }
helm=${HELM:-$(scripts/tools.sh helm | tail -n 1)/helm}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$helm" template defi-sync helm/defi-sync --set prometheusRule.enabled=true "$@" \
  --show-only templates/prometheusrule.yaml >"$tmp/rule.yaml"
# The PrometheusRule's spec is a rules file; the yaml package is a dependency of the repository.
node --input-type=module -e '
  import { readFileSync, writeFileSync } from "node:fs";
  import { parse, stringify } from "yaml";
  const rule = parse(readFileSync(process.argv[1], "utf8"));
  writeFileSync(process.argv[2], stringify({ groups: rule.spec.groups }));
' "$tmp/rule.yaml" "$tmp/rules.yml"
promtool check rules "$tmp/rules.yml"
if [[ -n $out ]]; then
  cp "$tmp/rules.yml" "$out"
  echo "promtool-check.sh: wrote $out" >&2
fi
