#!/usr/bin/env bash
# Installs the Prometheus programs the metrics and alert tests run, from the Debian packages:
#   prometheus-pushgateway  /usr/bin/prometheus-pushgateway (test/metrics, test/scheduler)
#   prometheus              /usr/bin/promtool and /usr/bin/prometheus (test/metrics/alert-rules)
# Nothing is done when they are present. Needs root (or sudo) and apt: CI calls it before the tests.
set -euo pipefail

missing=()
[[ -x /usr/bin/prometheus-pushgateway ]] || missing+=(prometheus-pushgateway)
[[ -x /usr/bin/promtool && -x /usr/bin/prometheus ]] || missing+=(prometheus)
((${#missing[@]} == 0)) && exit 0

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
command -v apt-get >/dev/null || { echo "observability-tools.sh: apt-get not found; install ${missing[*]} by hand" >&2; exit 2; }
echo "observability-tools.sh: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages enable their services; the tests start their own instances on free ports.
if [[ -d /run/systemd/system ]]; then
  "${sudo[@]}" systemctl disable --now prometheus.service prometheus-pushgateway.service >/dev/null 2>&1 || true
fi
