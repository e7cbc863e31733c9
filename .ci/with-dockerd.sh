#!/usr/bin/env bash
# shellcheck disable=SC2317  # stop_pid and cleanup run from the EXIT trap
# Runs one command against a private, throw-away Docker engine: `bash .ci/with-dockerd.sh <command...>`.
#
# CI has no Docker engine of its own and shares the machine, so this script
#   - installs Debian's docker.io when dockerd is missing,
#   - starts dockerd on its own socket, data root and exec root under a fresh /tmp directory, with its own bridge
#     interface and without touching the host firewall (--iptables=false, --ip-forward=false, --ip-masq=false):
#     ports published on 127.0.0.1 are served by docker-proxy, so they work without NAT rules,
#   - exports DOCKER_HOST for the command, plus ROLLCALL_BUILD_NETWORK=host because containers on that bridge have
#     no route out (no NAT), so `npm ci` in a build stage must use the host's network to reach the npm registry,
#   - provides the `FROM node:24-slim` base locally (scripts/docker/make-node-base.sh), as no registry is reachable,
#   - runs the command, then stops dockerd by PID and removes the bridge, mounts and directories it created,
#     exiting with the command's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
  echo "usage: bash .ci/with-dockerd.sh <command...>" >&2
  exit 2
fi

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
  echo "with-dockerd: installing docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

state=$(mktemp -d /tmp/rollcall-dockerd.XXXXXX)
bridge="rcd$$"   # interface names are limited to 15 characters
dockerd_pid=""
command_pid=""
bridge_created=false

stop_pid() { # pid seconds: SIGTERM, then SIGKILL if it is still there after that many seconds
  local pid=$1 tenths=$(($2 * 10))
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 "$tenths"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "with-dockerd: process $pid did not stop in $2 s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Interrupted: stop the command first, then the engine it uses.
  if [ -n "$command_pid" ]; then stop_pid "$command_pid" 10; fi
  # SIGTERM: dockerd stops its containers (no live-restore) and its managed containerd, then exits.
  if [ -n "$dockerd_pid" ]; then stop_pid "$dockerd_pid" 30; fi
  # Anything still mounted under the state directory (overlays, netns, shm) after an unclean stop.
  grep -o " $state/[^ ]*" /proc/mounts | sort -r | while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
  if $bridge_created; then ip link del "$bridge" 2>/dev/null || true; fi
  rm -rf "$state"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private bridge on a /24 no host route uses yet, so a second engine (or a developer's docker0) never clashes.
subnet=""
for i in $(seq 0 199); do
  candidate="10.213.$(((($$ + i) % 200) + 20))"
  if ! ip -4 route show | grep -q "^$candidate\.0/24"; then
    subnet="$candidate"
    break
  fi
done
if [ -z "$subnet" ]; then
  echo "with-dockerd: no free 10.213.x.0/24 subnet for the bridge" >&2
  exit 1
fi
ip link add name "$bridge" type bridge
bridge_created=true
ip addr add "$subnet.1/24" dev "$bridge"
ip link set "$bridge" up

dockerd \
  --host "unix://$state/docker.sock" \
  --data-root "$state/root" \
  --exec-root "$state/exec" \
  --pidfile "$state/dockerd.pid" \
  --bridge "$bridge" \
  --iptables=false \
  --ip-forward=false \
  --ip-masq=false \
  >"$state/dockerd.log" 2>&1 &
dockerd_pid=$!

export DOCKER_HOST="unix://$state/docker.sock"
ready=false
for _ in $(seq 1 300); do
  if ! kill -0 "$dockerd_pid" 2>/dev/null; then break; fi
  if docker version >/dev/null 2>&1; then
    ready=true
    break
  fi
  sleep 0.1
done
if ! $ready; then
  echo "with-dockerd: dockerd did not become ready; its log:" >&2
  tail -n 40 "$state/dockerd.log" >&2
  exit 1
fi
echo "with-dockerd: dockerd $(docker version --format '{{.Server.Version}}') (pid $dockerd_pid) on $DOCKER_HOST, bridge $bridge $subnet.0/24"

export ROLLCALL_BUILD_NETWORK=host
bash scripts/docker/make-node-base.sh node:24-slim

# In the background plus `wait`, so a signal to this script runs the cleanup at once instead of after the command.
"$@" &
command_pid=$!
set +e
wait "$command_pid"
rc=$?
set -e
command_pid=""
exit "$rc"
