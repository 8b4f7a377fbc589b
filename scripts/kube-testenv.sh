#!/usr/bin/env bash
# A real, single-machine Kubernetes cluster for tests: etcd + kube-apiserver +
# kube-controller-manager, built from the released Go module, and on demand
# one node: kube-scheduler + kubelet on containerd/runc with a bridge CNI
# network, all from Debian packages, each with its own state under DIR.
# Without --node no container runtime is involved and Pods stay Pending; what
# those tests check is API objects (CronJob -> Job, RBAC, ServiceAccounts).
#
#   scripts/kube-testenv.sh build                   build/cache binaries, install etcd, containerd, runc, CNI
#   scripts/kube-testenv.sh start DIR [--node]      start a cluster in DIR, print kubeconfig path
#   scripts/kube-testenv.sh load-image DIR IMAGE    copy IMAGE from podman into the node's containerd
#   scripts/kube-testenv.sh stop DIR                stop what `start DIR` started
#   scripts/kube-testenv.sh status                  whether the binaries are cached
#   scripts/kube-testenv.sh bin-dir | kubectl-path | helm-path
set -euo pipefail

# v1.37.2: newest stable k8s.io/kubernetes release on the module proxy; its
# go.mod asks for go 1.26.0, matching the installed toolchain.
KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"

CACHE_ROOT="${DEFI_SYNC_CACHE:-$HOME/.cache/defi-sync}"
KUBE_ROOT="$CACHE_ROOT/kube/$KUBE_VERSION"
BIN_DIR="$KUBE_ROOT/bin"
KUBE_BINS=(kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet)
# The node: a fixed name and a bridge network no other interface here uses.
# Pods reach the host (and only the host: no route, no masquerade) at
# NODE_GATEWAY, where tests serve their database and replica.
NODE_NAME=defi-sync-node
NODE_BRIDGE=dsync0
NODE_SUBNET=10.244.0.0/24
NODE_GATEWAY=10.244.0.1
# Built locally (scripts/kube-testenv/pause.c): there is no registry to pull
# registry.k8s.io/pause from.
PAUSE_IMAGE=localhost/defi-sync-testenv/pause:1
PAUSE_TAR="$KUBE_ROOT/images/pause.oci.tar"
# Debian's containernetworking-plugins install here.
CNI_BIN_DIR=/usr/lib/cni
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
  local src="$KUBE_ROOT/src" ldflags pkgs=() b p minor out missing=()
  mkdir -p "$src" "$BIN_DIR"
  for b in "${KUBE_BINS[@]}"; do
    [[ -x "$BIN_DIR/$b" ]] || { missing+=("$b"); pkgs+=("k8s.io/kubernetes/cmd/$b"); }
  done
  ((${#missing[@]})) || return 0
  if [[ ! -f "$src/.resolved" ]]; then
    write_wrapper_module "$src"
    rm -f "$src/go.sum"
    touch "$src/.resolved"
  fi
  # Each binary's dependencies are resolved once: a cache from before a binary
  # was added to KUBE_BINS lacks its go.sum entries.
  for p in "${pkgs[@]}"; do
    grep -qxF "$p" "$src/.resolved" && continue
    log "resolving $p@$KUBE_VERSION dependencies"
    (cd "$src" && GOFLAGS=-mod=mod go get "$p")
    echo "$p" >>"$src/.resolved"
  done
  minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  # Without these the binaries report v0.0.0-master, which trips kubectl's
  # skew warning and Helm's kubeVersion checks.
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  log "building ${missing[*]} $KUBE_VERSION (20-45 min on 2 cores the first time)"
  # Build into a scratch dir and move into place, so an interrupted build
  # never leaves a truncated binary that looks cached.
  out="$(mktemp -d "$KUBE_ROOT/.out.XXXXXX")"
  (cd "$src" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}") ||
    { rm -rf "$out"; return 1; }
  for b in "${missing[@]}"; do mv -f "$out/$b" "$BIN_DIR/$b"; done
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

apt_install() {
  [[ $(id -u) -eq 0 ]] || die "missing $*; install them (apt-get install $*) as root"
  log "installing $* from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
  }
}

# The node's container runtime and pod network. The packages' own service
# (a system containerd) is never started: each node runs a containerd of its
# own with root, state and socket under its DIR.
install_node_packages() {
  local want=()
  command -v containerd >/dev/null && command -v containerd-shim-runc-v2 >/dev/null || want+=(containerd)
  command -v runc >/dev/null || want+=(runc)
  [[ -x "$CNI_BIN_DIR/bridge" && -x "$CNI_BIN_DIR/host-local" && -x "$CNI_BIN_DIR/loopback" ]] ||
    want+=(containernetworking-plugins)
  command -v ip >/dev/null || want+=(iproute2)
  command -v gcc >/dev/null || want+=(gcc libc6-dev)
  ((${#want[@]})) || return 0
  apt_install "${want[@]}"
  if command -v systemctl >/dev/null && systemctl is-active --quiet containerd 2>/dev/null; then
    systemctl disable --now containerd >/dev/null 2>&1 || true
  fi
}

# The sandbox ("pause") image as an OCI archive: one uncompressed layer with a
# static binary, assembled by hand so no image builder or registry is needed.
build_pause_image() {
  [[ -f "$PAUSE_TAR" ]] && return 0
  local work layer_digest layer_size config config_digest manifest manifest_digest
  work="$(mktemp -d)"
  mkdir -p "$work/rootfs" "$work/oci/blobs/sha256" "$(dirname "$PAUSE_TAR")"
  gcc -static -Os -s -o "$work/rootfs/pause" "$SCRIPT_DIR/kube-testenv/pause.c" || { rm -rf "$work"; die "could not build the pause binary"; }
  tar -C "$work/rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" pause
  layer_digest="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  layer_size="$(stat -c %s "$work/layer.tar")"
  mv "$work/layer.tar" "$work/oci/blobs/sha256/$layer_digest"
  config='{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:'$layer_digest'"]}}'
  config_digest="$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)"
  printf '%s' "$config" >"$work/oci/blobs/sha256/$config_digest"
  manifest='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'$config_digest'","size":'${#config}'},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:'$layer_digest'","size":'$layer_size'}]}'
  manifest_digest="$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)"
  printf '%s' "$manifest" >"$work/oci/blobs/sha256/$manifest_digest"
  printf '%s' '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:'$manifest_digest'","size":'${#manifest}',"annotations":{"io.containerd.image.name":"'$PAUSE_IMAGE'","org.opencontainers.image.ref.name":"1"}}]}' >"$work/oci/index.json"
  printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
  tar -C "$work/oci" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$PAUSE_TAR.tmp" oci-layout index.json blobs
  mv "$PAUSE_TAR.tmp" "$PAUSE_TAR"
  rm -rf "$work"
}

cmd_build() {
  local t0=$SECONDS
  command -v go >/dev/null || die "go not found (expected in /usr/local/go/bin)"
  install_etcd
  install_node_packages
  mkdir -p "$KUBE_ROOT"
  # One builder at a time: parallel test runs or sessions may all ask.
  exec 8>"$KUBE_ROOT/.build.lock"
  flock 8
  if have_kube_bins; then
    log "kubernetes $KUBE_VERSION binaries cached in $BIN_DIR"
  else
    build_kube
  fi
  build_pause_image
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

client_cert() {
  local name="$1" subject="$2"
  openssl ecparam -name prime256v1 -genkey -noout -out "$name.key" 2>/dev/null
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
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
    # Client certificates: the kubelet's node identity (the Node authorizer
    # reads the group and name) and the API server's, for logs and exec.
    client_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
    client_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
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
  local dir="${1:-}" node="${2:-}"
  [[ -n "$dir" ]] || die "usage: $0 start DIR [--node]"
  [[ -z "$node" || "$node" == --node ]] || die "usage: $0 start DIR [--node]"
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

  local admin_token kcm_token sched_token
  admin_token="$(openssl rand -hex 24)"; kcm_token="$(openssl rand -hex 24)"; sched_token="$(openssl rand -hex 24)"
  # The controller manager gets its own identity so the bootstrap RBAC for
  # system:kube-controller-manager is exercised exactly as in a cluster.
  printf '%s\n' "$admin_token,admin,admin-uid,\"system:masters\"" \
    "$kcm_token,system:kube-controller-manager,kcm-uid" \
    "$sched_token,system:kube-scheduler,scheduler-uid" >"$pki/tokens.csv"
  chmod 600 "$pki/tokens.csv"

  local server="https://127.0.0.1:$api_port"
  write_kubeconfig "$dir/kubeconfig" "$server" "$pki/ca.crt" admin "$admin_token"
  write_kubeconfig "$dir/kcm.kubeconfig" "$server" "$pki/ca.crt" system:kube-controller-manager "$kcm_token"
  write_kubeconfig "$dir/scheduler.kubeconfig" "$server" "$pki/ca.crt" system:kube-scheduler "$sched_token"

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
    --authorization-mode Node,RBAC \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
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
  # With a node: node-lifecycle lifts the not-ready taint a kubelet registers
  # with, and pod-garbage-collector removes pods left behind.
  controllers+=,node-lifecycle-controller,pod-garbage-collector-controller
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

  [[ -n "$node" ]] && start_node "$dir" "$server" "$t0"

  if [[ -n "${KUBE_TESTENV_WATCH_PID:-}" ]]; then
    # Tear the env down if the process that asked for it dies without `stop`.
    local watch_pid
    watch_pid="$(spawn "$dir/logs/watchdog.log" bash -c \
      'while kill -0 "$1" 2>/dev/null && [[ -f "$3/env" ]]; do sleep 1; done; [[ -f "$3/env" ]] && exec bash "$2" stop "$3"' \
      kube-testenv-watchdog "$KUBE_TESTENV_WATCH_PID" "$SCRIPT_DIR/kube-testenv.sh" "$dir")"
    echo "WATCHDOG_PID=$watch_pid" >>"$dir/env"
  fi
  if p="$(helm_path)"; then echo "HELM=$p" >>"$dir/env"; fi

  local what="control plane"
  [[ -n "$node" ]] && what="cluster with node $NODE_NAME"
  log "kubernetes $KUBE_VERSION $what ready at $server in $((SECONDS - t0)) s"
  echo "$dir/kubeconfig"
}

# ----------------------------------------------------------------- node ----

NODE_OWNER_FILE=/run/defi-sync-testenv-node
# Pods' cgroups live under this root in every hierarchy, so `stop` can find
# (and kill) whatever a pod left behind and remove them all.
NODE_CGROUP_ROOT=/defi-sync-testenv
# The kubelet sets these kernel tunables to its expectations; `start` saves
# the machine's values and `stop` puts them back.
NODE_SYSCTLS=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes)

cgroup_dirs() {
  # The node's cgroup root in every mounted hierarchy (v1 controllers, the
  # hybrid mode's unified tree, or a pure v2 tree).
  local m
  while read -r m; do echo "$m$NODE_CGROUP_ROOT"; done < <(findmnt -rn -t cgroup,cgroup2 -o TARGET)
}

make_node_cgroups() {
  local d parent
  while read -r d; do
    mkdir -p "$d"
    # A new v1 cpuset starts with no CPUs or memory nodes: nothing could join it.
    if [[ -f "$d/cpuset.cpus" && -z "$(cat "$d/cpuset.cpus")" ]]; then
      parent="$(dirname "$d")"
      cat "$parent/cpuset.cpus" >"$d/cpuset.cpus"
      cat "$parent/cpuset.mems" >"$d/cpuset.mems"
    fi
  done < <(cgroup_dirs)
}

remove_node_cgroups() {
  local d pid f
  while read -r d; do
    [[ -d "$d" ]] || continue
    # Anything still in a pod's cgroup belongs to this node: kill it first.
    while read -r f; do
      while read -r pid; do [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null; done <"$f"
    done < <(find "$d" -name cgroup.procs 2>/dev/null)
  done < <(cgroup_dirs)
  sleep 0.2
  while read -r d; do
    [[ -d "$d" ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done < <(cgroup_dirs)
  return 0
}

node_ctr() { ctr --address "$1/node/containerd/containerd.sock" --namespace k8s.io "${@:2}"; }

# Prints "yes" when this process holds CAP_SYS_RESOURCE (bit 24).
cap_sys_resource() {
  local eff
  eff="$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
  (( (16#$eff >> 24) & 1 )) && echo yes
  return 0
}

write_containerd_config() {
  local n="$1/node"
  cat >"$n/containerd/config.toml" <<TOML
version = 2
root = "$n/containerd/root"
state = "$n/containerd/state"
plugin_dir = ""
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$n/containerd/containerd.sock"

[ttrpc]
  address = "$n/containerd/containerd.ttrpc.sock"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$n/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  # Sandboxes ask for oom_score_adj -998 (Guaranteed pods' containers -997),
  # which needs CAP_SYS_RESOURCE; a machine whose root lacks it (this one:
  # runc fails with "can't get final child's PID from pipe") gets containerd's
  # own value as the floor instead.
  restrict_oom_score_adj = $( [[ -n "$(cap_sys_resource)" ]] && echo false || echo true )

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      # cgroupfs, as the kubelet is told: this kernel mounts cgroup v1 and
      # no systemd manages this machine's cgroups.
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$n/cni/net.d"
    max_conf_num = 1
TOML
}

# One bridge, addresses from host-local, no default route and no masquerade:
# a pod can reach the host's bridge address and other pods, nothing else.
write_cni_config() {
  local n="$1/node"
  cat >"$n/cni/net.d/10-defi-sync-testenv.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "defi-sync-testenv",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$NODE_SUBNET", "gateway": "$NODE_GATEWAY" }]],
        "dataDir": "$n/cni/ipam"
      }
    }
  ]
}
JSON
}

write_kubelet_config() {
  local dir="$1" port="$2" healthz="$3" n="$1/node"
  cat >"$n/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This kernel mounts cgroup v1; kubelet $KUBE_VERSION still runs on it when asked to.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $NODE_CGROUP_ROOT
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
containerRuntimeEndpoint: unix://$n/containerd/containerd.sock
address: $NODE_GATEWAY
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: $dir/pki/ca.crt
authorization:
  mode: AlwaysAllow
failSwapOn: false
# No iptables rules on the host: nothing here needs them.
makeIPTablesUtilChains: false
podLogsDir: $n/pod-logs
volumePluginDir: $n/volume-plugins
resolvConf: ""
registerNode: true
# A shared machine's disk and memory must not make the node evict test pods.
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
}

node_ready() {
  local dir="$1"
  [[ "$("$BIN_DIR/kubectl" --kubeconfig "$dir/kubeconfig" get node "$NODE_NAME" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

start_node() {
  local dir="$1" server="$2" t0="$3" n="$1/node" owner s
  if [[ -f "$NODE_OWNER_FILE" ]]; then
    owner="$(cat "$NODE_OWNER_FILE")"
    if [[ -f "$owner/env" && "$owner" != "$dir" ]]; then
      fail_start "$dir" "node: another test node is running on this machine (in $owner; its bridge $NODE_BRIDGE and cgroup root are shared): stop it with: $0 stop $owner"
    fi
  fi
  [[ $(id -u) -eq 0 ]] || fail_start "$dir" "node: the kubelet and containerd need root"
  [[ -f "$PAUSE_TAR" ]] || fail_start "$dir" "node: sandbox image $PAUSE_TAR missing; run: $0 build"
  local b
  for b in containerd containerd-shim-runc-v2 runc ctr ip; do
    command -v "$b" >/dev/null || fail_start "$dir" "node: $b not found; run: $0 build"
  done
  echo "$dir" >"$NODE_OWNER_FILE"
  echo "NODE=$NODE_NAME" >>"$dir/env"
  echo "NODE_GATEWAY=$NODE_GATEWAY" >>"$dir/env"
  rm -rf "$n"
  mkdir -p "$n/containerd" "$n/cni/net.d" "$n/cni/ipam" "$n/kubelet" "$n/pod-logs" "$n/volume-plugins" "$n/certs"

  for s in "${NODE_SYSCTLS[@]}"; do echo "$s=$(cat "/proc/sys/$s")"; done >"$n/sysctl.saved"

  # The bridge exists before any pod, so tests can listen on the gateway
  # address from the start; the CNI bridge plugin adopts it.
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  ip link add "$NODE_BRIDGE" type bridge || fail_start "$dir" "node: could not create bridge $NODE_BRIDGE"
  ip addr add "$NODE_GATEWAY/${NODE_SUBNET#*/}" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  remove_node_cgroups
  make_node_cgroups || fail_start "$dir" "node: could not create cgroup $NODE_CGROUP_ROOT"

  write_containerd_config "$dir"
  write_cni_config "$dir"
  local ctd_pid
  ctd_pid="$(spawn "$dir/logs/containerd.log" containerd --config "$n/containerd/config.toml" --log-level warn)"
  echo "CONTAINERD_PID=$ctd_pid" >>"$dir/env"
  wait_for "$dir" 30 "$ctd_pid" containerd node_ctr "$dir" version
  node_ctr "$dir" images import "$PAUSE_TAR" >/dev/null 2>"$dir/logs/pause-import.log" ||
    fail_start "$dir" "node: containerd could not import the sandbox image: $(cat "$dir/logs/pause-import.log")"
  log "containerd up after $((SECONDS - t0)) s"

  local kubelet_port healthz_port sched_port
  read -r kubelet_port healthz_port sched_port < <(free_ports 3)
  cat >"$n/kubelet.kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: defi-sync-testenv
  cluster:
    server: $server
    certificate-authority: $dir/pki/ca.crt
users:
- name: kubelet
  user:
    client-certificate: $dir/pki/kubelet.crt
    client-key: $dir/pki/kubelet.key
contexts:
- name: defi-sync-testenv
  context: {cluster: defi-sync-testenv, user: kubelet}
current-context: defi-sync-testenv
KCFG
  write_kubelet_config "$dir" "$kubelet_port" "$healthz_port"
  local kubelet_pid
  kubelet_pid="$(spawn "$dir/logs/kubelet.log" "$BIN_DIR/kubelet" \
    --config "$n/kubelet.yaml" --kubeconfig "$n/kubelet.kubeconfig" \
    --root-dir "$n/kubelet" --cert-dir "$n/certs" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_GATEWAY" \
    --v=1)"
  echo "KUBELET_PID=$kubelet_pid" >>"$dir/env"

  local sched_pid
  sched_pid="$(spawn "$dir/logs/kube-scheduler.log" "$BIN_DIR/kube-scheduler" \
    --kubeconfig "$dir/scheduler.kubeconfig" \
    --authentication-kubeconfig "$dir/scheduler.kubeconfig" --authorization-kubeconfig "$dir/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$sched_port" --cert-dir "$n/certs" \
    --leader-elect=false --profiling=false --v=1)"
  echo "SCHEDULER_PID=$sched_pid" >>"$dir/env"
  wait_for "$dir" 30 "$sched_pid" kube-scheduler curl -skf --max-time 2 "https://127.0.0.1:$sched_port/healthz"
  wait_for "$dir" 90 "$kubelet_pid" "kubelet (node $NODE_NAME Ready)" node_ready "$dir"
  log "node $NODE_NAME Ready after $((SECONDS - t0)) s"
}

stop_node() {
  local dir="$1" n="$1/node" ns=() id key val s m
  local KUBELET_PID="" SCHEDULER_PID="" CONTAINERD_PID=""
  while IFS='=' read -r key val; do
    case "$key" in KUBELET_PID | SCHEDULER_PID | CONTAINERD_PID) printf -v "$key" '%s' "$val" ;; esac
  done <"$dir/env"
  [[ -n "$CONTAINERD_PID$KUBELET_PID" || -d "$n" ]] || return 0
  stop_pid "$SCHEDULER_PID" "$dir" kube-scheduler
  stop_pid "$KUBELET_PID" "$dir" kubelet
  # Neither the kubelet nor containerd stops containers when it exits, so
  # every task is killed here, and each sandbox's network namespace noted.
  if owned_pid "$CONTAINERD_PID" "$dir"; then
    for id in $(node_ctr "$dir" tasks ls -q 2>/dev/null); do
      node_ctr "$dir" tasks kill --all --signal SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(node_ctr "$dir" containers ls -q 2>/dev/null); do
      while read -r m; do ns+=("$m"); done < <(node_ctr "$dir" containers info "$id" 2>/dev/null |
        grep -o '"/var/run/netns/cni-[0-9a-f-]*"' | tr -d '"' | sort -u)
    done
  fi
  remove_node_cgroups
  stop_pid "$CONTAINERD_PID" "$dir" containerd
  # The runc shims outlive containerd; their command line names its socket.
  for m in /proc/[0-9]*; do
    id="${m#/proc/}"
    tr '\0' ' ' <"$m/cmdline" 2>/dev/null | grep -q "^[^ ]*containerd-shim[^ ]* .*$n/containerd/" &&
      kill -KILL "$id" 2>/dev/null
  done
  # Mounts left under DIR (volumes, container root filesystems, /dev/shm).
  findmnt -rn -o TARGET | grep -F "$n/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  for m in $(printf '%s\n' "${ns[@]}" | sort -u); do
    umount -l "$m" 2>/dev/null || true
    rm -f "$m"
  done
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  # The kubelet links every container's log into the fixed /var/log/containers.
  [[ -d /var/log/containers ]] && find /var/log/containers -maxdepth 1 -type l -lname "$n/*" -delete 2>/dev/null
  if [[ -f "$n/sysctl.saved" ]]; then
    while IFS='=' read -r s val; do echo "$val" >"/proc/sys/$s" 2>/dev/null || true; done <"$n/sysctl.saved"
    rm -f "$n/sysctl.saved"
  fi
  [[ "$(cat "$NODE_OWNER_FILE" 2>/dev/null)" == "$dir" ]] && rm -f "$NODE_OWNER_FILE"
  return 0
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
  stop_node "$dir"
  stop_pid "$KCM_PID" "$dir" kube-controller-manager
  stop_pid "$APISERVER_PID" "$dir" kube-apiserver
  stop_pid "$ETCD_PID" "$dir" etcd
  mv "$dir/env" "$dir/env.stopped"
  log "stopped environment in $dir"
}

# ---------------------------------------------------------------- misc -----

# podman's storage is the machine's image store (`make image` builds there);
# the node's containerd gets a copy, so pods run it with no registry.
cmd_load_image() {
  local dir="${1:-}" image="${2:-}" tar
  [[ -n "$dir" && -n "$image" ]] || die "usage: $0 load-image DIR IMAGE"
  dir="$(cd "$dir" && pwd)"
  [[ -S "$dir/node/containerd/containerd.sock" ]] || die "no node running in $dir (start it with: $0 start $dir --node)"
  command -v podman >/dev/null || die "podman not found: build the image first (make image)"
  podman image exists "$image" || die "image $image not found in podman's storage: build it first (make image)"
  tar="$dir/node/image.tar"
  podman save --quiet --format docker-archive -o "$tar" "$image" || die "podman save $image failed"
  node_ctr "$dir" images import "$tar" >&2 || { rm -f "$tar"; die "containerd could not import $image"; }
  rm -f "$tar"
}

cmd_status() {
  local b rc=0
  echo "kubernetes $KUBE_VERSION, bin dir $BIN_DIR"
  for b in "${KUBE_BINS[@]}"; do
    if [[ -x "$BIN_DIR/$b" ]]; then echo "  $b: cached"; else echo "  $b: missing"; rc=1; fi
  done
  if p="$(etcd_bin)"; then echo "  etcd: $p"; else echo "  etcd: missing"; rc=1; fi
  for b in containerd containerd-shim-runc-v2 runc; do
    if p="$(command -v "$b")"; then echo "  $b: $p"; else echo "  $b: missing"; rc=1; fi
  done
  for b in bridge host-local loopback; do
    if [[ -x "$CNI_BIN_DIR/$b" ]]; then echo "  cni $b: $CNI_BIN_DIR/$b"; else echo "  cni $b: missing"; rc=1; fi
  done
  if [[ -f "$PAUSE_TAR" ]]; then echo "  sandbox image: $PAUSE_TAR"; else echo "  sandbox image: missing"; rc=1; fi
  if p="$(helm_path)"; then echo "  helm: $p"; else echo "  helm: missing"; fi
  if [[ $rc -eq 0 ]]; then echo "ready"; else echo "not built: run scripts/kube-testenv.sh build"; fi
  return $rc
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start "${2:-}" "${3:-}" ;;
  load-image) cmd_load_image "${2:-}" "${3:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status ;;
  bin-dir) echo "$BIN_DIR" ;;
  kubectl-path) have_kube_bins || die "not built; run: $0 build"; echo "$BIN_DIR/kubectl" ;;
  helm-path)
    if [[ ! -x "$BIN_DIR/helm" ]]; then link_helm >&2 || die "helm not available"; fi
    echo "$BIN_DIR/helm" ;;
  *) die "usage: $0 build|start DIR [--node]|load-image DIR IMAGE|stop DIR|status|bin-dir|kubectl-path|helm-path" ;;
esac
