#!/usr/bin/env bash
# Obtains every external program the test suite runs, once; later runs find them and do nothing.
#   Debian packages   prometheus-pushgateway, prometheus (prometheus, promtool): test/metrics, test/scheduler
#                     systemd (systemd-analyze): the systemd unit test; postgresql-client (psql): schema.sql test
#   Go module proxy   helm, kubeconform, and kustomize without kubectl (scripts/tools.sh, cached in
#                     ~/.cache/defi-sync/tools): test/chart
# `make test` runs it first. Without root (or sudo) it installs nothing and prints the command to
# run; the tests that need a missing program then fail and name it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test-tools.sh: %s\n' "$*" >&2; }

missing=()
[[ -x /usr/bin/prometheus-pushgateway ]] || missing+=(prometheus-pushgateway)
[[ -x /usr/bin/promtool && -x /usr/bin/prometheus ]] || missing+=(prometheus)
[[ -x /usr/bin/systemd-analyze ]] || missing+=(systemd)
command -v psql >/dev/null || missing+=(postgresql-client)

if ((${#missing[@]} > 0)); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n); else sudo=(none); fi
  fi
  if [[ ${sudo[0]:-} == none ]] || ! command -v apt-get >/dev/null; then
    log "missing ${missing[*]}: run 'sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}' (the tests that need them fail until then)"
  else
    log "installing ${missing[*]} from Debian (once; about a minute)"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages enable their services; the tests start their own instances on free ports.
    if [[ -d /run/systemd/system ]]; then
      "${sudo[@]}" systemctl disable --now prometheus.service prometheus-pushgateway.service >/dev/null 2>&1 || true
    fi
  fi
fi

# helm and kubeconform: built from the Go module proxy on first use (a few minutes), then cached.
if command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]]; then
  PATH=$PATH:/usr/local/go/bin scripts/tools.sh all >/dev/null
  # The kustomize tests use kubectl's built-in kustomize, else a kustomize built the same way.
  command -v kubectl >/dev/null || PATH=$PATH:/usr/local/go/bin scripts/tools.sh kustomize >/dev/null
else
  log "go is missing: install Go (1.26 or newer) to build helm and kubeconform; the chart tests fail until then"
fi
