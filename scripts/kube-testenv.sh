#!/usr/bin/env bash
# A real, single-machine Kubernetes control plane for tests: etcd +
# kube-apiserver + kube-controller-manager, built from the released Go module.
# No nodes and no container runtime are involved, so Pods stay Pending; what
# the tests check is API objects (CronJob -> Job, RBAC, ServiceAccounts).
#
#   scripts/kube-testenv.sh build        build/cache binaries, install etcd
#   scripts/kube-testenv.sh start DIR    start a control plane in DIR, print kubeconfig path
#   scripts/kube-testenv.sh stop DIR     stop what `start DIR` started
#   scripts/kube-testenv.sh status       whether the binaries are cached
#   scripts/kube-testenv.sh bin-dir | kubectl-path | helm-path
set -euo pipefail

# v1.37.2: newest stable k8s.io/kubernetes release on the module proxy; its
# go.mod asks for go 1.26.0, matching the installed toolchain.
KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"

CACHE_ROOT="${DEFI_SYNC_CACHE:-$HOME/.cache/defi-sync}"
KUBE_ROOT="$CACHE_ROOT/kube/$KUBE_VERSION"
BIN_DIR="$KUBE_ROOT/bin"
KUBE_BINS=(kube-apiserver kube-controller-manager kubectl)
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

export PATH="$PATH:/usr/local/go/bin"

log() { printf '[kube-testenv] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

have_kube_bins() {
  local b
  for b in "${KUBE_BINS[@]}"; do [[ -x "$BIN_DIR/$b" ]] || return 1; done
}

etcd_bin() {
  # Debian's etcd-server installs /usr/bin/etcd; honour an override or PATH.
  if [[ -n "${ETCD_BIN:-}" ]]; then echo "$ETCD_BIN"; return 0; fi
  command -v etcd 2>/dev/null || return 1
}

# helm is pinned and built by scripts/tools.sh for the chart tooling; it is
# linked into BIN_DIR rather than built a second time, so one directory holds
# every binary a test against this env needs.
helm_path() {
  [[ -x "$BIN_DIR/helm" ]] && { echo "$BIN_DIR/helm"; return 0; }
  command -v helm 2>/dev/null && return 0
  return 1
}

link_helm() {
  local tools="$SCRIPT_DIR/tools.sh" tools_bin
  [[ -f "$tools" ]] || { log "scripts/tools.sh not found; helm not provided"; return 1; }
  tools_bin="$(nice -n 10 bash "$tools" helm)" || return 1
  [[ -x "$tools_bin/helm" ]] || { log "scripts/tools.sh did not produce $tools_bin/helm"; return 1; }
  mkdir -p "$BIN_DIR"
  ln -sfn "$tools_bin/helm" "$BIN_DIR/helm"
}

# ---------------------------------------------------------------- build ----

# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every
# k8s.io/* staging module with ./staging/src/..., which only exists in the
# git tree. A wrapper module that requires it and maps each staging module to
# its published v0.MINOR.PATCH twin builds the same code from the proxy.
write_wrapper_module() {
  local dir="$1" gomod staging_ver mods m
  staging_ver="v0.${KUBE_VERSION#v1.}"
  gomod="$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$gomod" ]] || die "could not fetch go.mod of k8s.io/kubernetes@$KUBE_VERSION"
  mods="$(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._/-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod")"
  [[ -n "$mods" ]] || die "no staging replace directives found in $gomod"
  {
    echo "module defisync.local/kube-testenv"
    echo
    echo "go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    for m in $mods; do
      # sample-* modules are never built here and are not all published.
      case "$m" in k8s.io/sample-*) continue ;; esac
      printf '\t%s => %s %s\n' "$m" "$m" "$staging_ver"
    done
    echo ")"
  } >"$dir/go.mod.new"
  mv "$dir/go.mod.new" "$dir/go.mod"
}

build_kube() {
  local src="$KUBE_ROOT/src" ldflags pkgs=() b p minor out
  mkdir -p "$src" "$BIN_DIR"
  for b in "${KUBE_BINS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  if [[ ! -f "$src/.resolved" ]]; then
    write_wrapper_module "$src"
    rm -f "$src/go.sum"
    log "resolving k8s.io/kubernetes@$KUBE_VERSION dependencies"
    (cd "$src" && GOFLAGS=-mod=mod go get "${pkgs[@]}")
    touch "$src/.resolved"
  fi
  minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  # Without these the binaries report v0.0.0-master, which trips kubectl's
  # skew warning and Helm's kubeVersion checks.
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  log "building ${KUBE_BINS[*]} $KUBE_VERSION (20-30 min on 2 cores the first time)"
  # Build into a scratch dir and move into place, so an interrupted build
  # never leaves a truncated binary that looks cached.
  out="$(mktemp -d "$KUBE_ROOT/.out.XXXXXX")"
  (cd "$src" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}") ||
    { rm -rf "$out"; return 1; }
  for b in "${KUBE_BINS[@]}"; do mv -f "$out/$b" "$BIN_DIR/$b"; done
  rmdir "$out"
}

install_etcd() {
  etcd_bin >/dev/null && return 0
  log "installing etcd-server from Debian"
  [[ $(id -u) -eq 0 ]] || die "etcd is missing; install it (apt-get install etcd-server) or set ETCD_BIN"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >/dev/null
  }
  # The package enables a system etcd on 2379; the test env runs its own.
  if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
  etcd_bin >/dev/null || die "etcd still not found after installing etcd-server"
}

cmd_build() {
  local t0=$SECONDS
  command -v go >/dev/null || die "go not found (expected in /usr/local/go/bin)"
  install_etcd
  mkdir -p "$KUBE_ROOT"
  # One builder at a time: parallel test runs or sessions may all ask.
  exec 8>"$KUBE_ROOT/.build.lock"
  flock 8
  if have_kube_bins; then
    log "kubernetes $KUBE_VERSION binaries cached in $BIN_DIR"
  else
    build_kube
  fi
  if [[ "${KUBE_TESTENV_SKIP_HELM:-}" != 1 ]]; then link_helm || log "continuing without helm"; fi
  log "build done in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- start ----

free_ports() {
  # N distinct unused TCP ports below the kernel's ephemeral range, so outgoing
  # connections cannot grab them between this check and the component's bind.
  local n="$1" used port picked=() tries=0
  used=" $(ss -Htan 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}' | sort -u | tr '\n' ' ') "
  while ((${#picked[@]} < n)); do
    ((tries++ < 1000)) || die "no free TCP port found"
    port=$((20000 + RANDOM % 12000))
    [[ "$used" == *" $port "* ]] && continue
    used+="$port "
    picked+=("$port")
  done
  echo "${picked[*]}"
}

gen_certs() {
  local pki="$1"
  mkdir -p "$pki"
  (
    cd "$pki"
    # EC keys: generated in milliseconds, which keeps `start` fast.
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=defi-sync-testenv-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out ca.crt 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out apiserver.key 2>/dev/null
    openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr 2>/dev/null
    # 10.0.0.1 is the `kubernetes` Service IP from --service-cluster-ip-range.
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f apiserver.csr apiserver.ext ca.srl
  )
}

write_kubeconfig() {
  local file="$1" server="$2" ca_file="$3" user="$4" token="$5"
  cat >"$file" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: defi-sync-testenv
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$ca_file")
users:
- name: $user
  user:
    token: $token
contexts:
- name: defi-sync-testenv
  context:
    cluster: defi-sync-testenv
    user: $user
    namespace: default
current-context: defi-sync-testenv
KCFG
  chmod 600 "$file"
}

# Launch a long-running component detached from our stdio, so a caller that
# reads our output (execFile, $(...)) is not held open by it.
spawn() {
  local logfile="$1"; shift
  nohup "$@" </dev/null >"$logfile" 2>&1 &
  echo $!
}

fail_start() {
  local dir="$1" msg="$2" f
  log "$msg"
  for f in "$dir"/logs/*.log; do
    [[ -f "$f" ]] || continue
    log "--- last lines of $f"
    tail -n 20 "$f" >&2 || true
  done
  cmd_stop "$dir" >/dev/null 2>&1 || true
  exit 1
}

wait_for() {
  # wait_for DIR TIMEOUT_S PID DESCRIPTION COMMAND...
  local dir="$1" timeout="$2" pid="$3" what="$4"; shift 4
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail_start "$dir" "$what exited during startup"
    ((SECONDS < deadline)) || fail_start "$dir" "timed out after ${timeout}s waiting for $what"
    sleep 0.2
  done
}

readyz_ok() {
  local url="$1" ca="$2" token="$3"
  [[ "$(curl -s --max-time 2 --cacert "$ca" -H "Authorization: Bearer $token" "$url")" == ok ]]
}

cmd_start() {
  local dir="${1:-}"
  [[ -n "$dir" ]] || die "usage: $0 start DIR"
  have_kube_bins || die "kubernetes $KUBE_VERSION binaries not built; run: $0 build"
  local etcd; etcd="$(etcd_bin)" || die "etcd not found; run: $0 build"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [[ -f "$dir/env" ]]; then
    die "$dir/env exists: an environment may still be running there (run: $0 stop $dir)"
  fi
  local t0=$SECONDS
  # Every start is a fresh cluster: state left by an earlier run in DIR
  # (etcd data signed with old keys) would only confuse the next test.
  rm -rf "$dir/etcd" "$dir/pki" "$dir/kcm-certs" "$dir/logs" "$dir/env.stopped"
  mkdir -p "$dir/logs" "$dir/kcm-certs"
  gen_certs "$dir/pki"
  local pki="$dir/pki"

  local etcd_port etcd_peer api_port kcm_port
  read -r etcd_port etcd_peer api_port kcm_port < <(free_ports 4)

  local admin_token kcm_token
  admin_token="$(openssl rand -hex 24)"; kcm_token="$(openssl rand -hex 24)"
  # The controller manager gets its own identity so the bootstrap RBAC for
  # system:kube-controller-manager is exercised exactly as in a cluster.
  printf '%s\n' "$admin_token,admin,admin-uid,\"system:masters\"" \
    "$kcm_token,system:kube-controller-manager,kcm-uid" >"$pki/tokens.csv"
  chmod 600 "$pki/tokens.csv"

  local server="https://127.0.0.1:$api_port"
  write_kubeconfig "$dir/kubeconfig" "$server" "$pki/ca.crt" admin "$admin_token"
  write_kubeconfig "$dir/kcm.kubeconfig" "$server" "$pki/ca.crt" system:kube-controller-manager "$kcm_token"

  # Written before anything runs so `stop` can clean up a half-started env.
  {
    echo "KUBECONFIG=$dir/kubeconfig"
    echo "KUBE_VERSION=$KUBE_VERSION"
    echo "KUBE_SERVER=$server"
    echo "KUBECTL=$BIN_DIR/kubectl"
  } >"$dir/env"

  # A lone member still waits one election timeout before it leads; a short
  # one trims a second off every start and cannot flap without peers.
  local etcd_pid
  etcd_pid="$(spawn "$dir/logs/etcd.log" "$etcd" --name testenv --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "testenv=http://127.0.0.1:$etcd_peer" --initial-cluster-state new \
    --logger zap --log-level warn --quota-backend-bytes 1073741824 \
    --heartbeat-interval 50 --election-timeout 500)"
  echo "ETCD_PID=$etcd_pid" >>"$dir/env"
  wait_for "$dir" 20 "$etcd_pid" etcd curl -sf --max-time 1 "http://127.0.0.1:$etcd_port/health"
  log "etcd up after $((SECONDS - t0)) s"

  # Endpoint reconciling rejects a loopback advertise address, and nothing
  # here routes to the `kubernetes` Service anyway, hence reconciler "none".
  local api_pid
  api_pid="$(spawn "$dir/logs/kube-apiserver.log" "$BIN_DIR/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --token-auth-file "$pki/tokens.csv" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --allow-privileged=true \
    --endpoint-reconciler-type none \
    --profiling=false \
    --v=1)"
  echo "APISERVER_PID=$api_pid" >>"$dir/env"
  wait_for "$dir" 60 "$api_pid" kube-apiserver readyz_ok "$server/readyz" "$pki/ca.crt" "$admin_token"
  log "kube-apiserver ready after $((SECONDS - t0)) s"

  # serviceaccount-controller creates each namespace's `default` SA, without
  # which Pods (and so Jobs) are rejected; namespace, garbage-collector and
  # ttl-after-finished make deletes and Job cleanup behave as in a cluster;
  # clusterrole-aggregation fills the admin/edit/view roles charts bind to.
  local controllers=cronjob-controller,job-controller,serviceaccount-controller,serviceaccount-token-controller
  controllers+=,namespace-controller,garbage-collector-controller,ttl-after-finished-controller
  controllers+=,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller
  local kcm_pid
  kcm_pid="$(spawn "$dir/logs/kube-controller-manager.log" "$BIN_DIR/kube-controller-manager" \
    --kubeconfig "$dir/kcm.kubeconfig" \
    --authentication-kubeconfig "$dir/kcm.kubeconfig" --authorization-kubeconfig "$dir/kcm.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" --cert-dir "$dir/kcm-certs" \
    --controllers "$controllers" \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --leader-elect=false \
    --profiling=false \
    --v=1)"
  echo "KCM_PID=$kcm_pid" >>"$dir/env"
  wait_for "$dir" 30 "$kcm_pid" kube-controller-manager \
    curl -skf --max-time 2 "https://127.0.0.1:$kcm_port/healthz"

  if [[ -n "${KUBE_TESTENV_WATCH_PID:-}" ]]; then
    # Tear the env down if the process that asked for it dies without `stop`.
    local watch_pid
    watch_pid="$(spawn "$dir/logs/watchdog.log" bash -c \
      'while kill -0 "$1" 2>/dev/null && [[ -f "$3/env" ]]; do sleep 1; done; [[ -f "$3/env" ]] && exec bash "$2" stop "$3"' \
      kube-testenv-watchdog "$KUBE_TESTENV_WATCH_PID" "$SCRIPT_DIR/kube-testenv.sh" "$dir")"
    echo "WATCHDOG_PID=$watch_pid" >>"$dir/env"
  fi
  if p="$(helm_path)"; then echo "HELM=$p" >>"$dir/env"; fi

  log "kubernetes $KUBE_VERSION control plane ready at $server in $((SECONDS - t0)) s"
  echo "$dir/kubeconfig"
}

# ----------------------------------------------------------------- stop ----

# Only signal a pid whose command line still mentions DIR, so a recycled pid
# of an unrelated process is never hit.
owned_pid() {
  local pid="$1" dir="$2"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir"
}

stop_pid() {
  local pid="$1" dir="$2" name="$3" i
  owned_pid "$pid" "$dir" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    owned_pid "$pid" "$dir" || return 0
    sleep 0.1
  done
  log "$name ($pid) ignored SIGTERM for 10 s; killing"
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
  local dir="${1:-}"
  [[ -n "$dir" ]] || die "usage: $0 stop DIR"
  [[ -d "$dir" ]] || { log "$dir does not exist; nothing to stop"; return 0; }
  dir="$(cd "$dir" && pwd)"
  [[ -f "$dir/env" ]] || { log "no env in $dir; nothing to stop"; return 0; }
  local key val WATCHDOG_PID="" KCM_PID="" APISERVER_PID="" ETCD_PID=""
  while IFS='=' read -r key val; do
    case "$key" in WATCHDOG_PID | KCM_PID | APISERVER_PID | ETCD_PID) printf -v "$key" '%s' "$val" ;; esac
  done <"$dir/env"
  # The watchdog may be the caller of `stop`; never signal ourselves.
  if [[ -n "$WATCHDOG_PID" && "$WATCHDOG_PID" != "$$" && "$WATCHDOG_PID" != "$PPID" ]]; then
    stop_pid "$WATCHDOG_PID" "$dir" watchdog
  fi
  # Reverse start order: clients first, etcd last so nothing loses its store.
  stop_pid "$KCM_PID" "$dir" kube-controller-manager
  stop_pid "$APISERVER_PID" "$dir" kube-apiserver
  stop_pid "$ETCD_PID" "$dir" etcd
  mv "$dir/env" "$dir/env.stopped"
  log "stopped environment in $dir"
}

# ---------------------------------------------------------------- misc -----

cmd_status() {
  local b rc=0
  echo "kubernetes $KUBE_VERSION, bin dir $BIN_DIR"
  for b in "${KUBE_BINS[@]}"; do
    if [[ -x "$BIN_DIR/$b" ]]; then echo "  $b: cached"; else echo "  $b: missing"; rc=1; fi
  done
  if p="$(etcd_bin)"; then echo "  etcd: $p"; else echo "  etcd: missing"; rc=1; fi
  if p="$(helm_path)"; then echo "  helm: $p"; else echo "  helm: missing"; fi
  if [[ $rc -eq 0 ]]; then echo "ready"; else echo "not built: run scripts/kube-testenv.sh build"; fi
  return $rc
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status ;;
  bin-dir) echo "$BIN_DIR" ;;
  kubectl-path) have_kube_bins || die "not built; run: $0 build"; echo "$BIN_DIR/kubectl" ;;
  helm-path)
    if [[ ! -x "$BIN_DIR/helm" ]]; then link_helm >&2 || die "helm not available"; fi
    echo "$BIN_DIR/helm" ;;
  *) die "usage: $0 build|start DIR|stop DIR|status|bin-dir|kubectl-path|helm-path" ;;
esac
