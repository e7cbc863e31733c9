#!/usr/bin/env bash
# Shared by scripts/cluster/*.sh: the --dry-run flag and the one way every command is run.
# With --dry-run each command is printed ("+ kind create cluster ...") and nothing is executed; without it, each
# command is printed and then run, so a real run shows the same lines. Sourced, never run on its own.
set -euo pipefail

DRY_RUN=0
CLUSTER_NAME="${CLUSTER_NAME:-rollcall}"
# The checkout these scripts belong to (ROLLCALL_ROOT overrides it, for tests on a copy).
ROOT="${ROLLCALL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export DRY_RUN CLUSTER_NAME ROOT

# parse_args "$@": --dry-run, --help; anything else is an error (exit 2). `usage` is defined by the caller.
parse_args() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      --dry-run) DRY_RUN=1 ;;
      -h | --help) usage; exit 0 ;;
      *) echo "unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
  done
}

# run CMD ARG...: print the command (shell-quoted), then run it unless --dry-run.
run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$DRY_RUN" = 0 ]; then "$@"; fi
}

# run_sh 'pipeline': the same for a command line that needs a pipe; printed as written.
run_sh() {
  printf '+ %s\n' "$1"
  if [ "$DRY_RUN" = 0 ]; then bash -o pipefail -c "$1"; fi
}

# require TOOL...: fail early with the tool's name (a dry run needs none of them).
require() {
  local tool
  [ "$DRY_RUN" = 1 ] && return 0
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing tool: $tool (see scripts/cluster/README.md)" >&2; exit 1; }
  done
}

# The version in package.json: what the image reports, and the tag it is built and loaded under.
package_version() {
  sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ROOT/package.json"
}

# The image tag the manifests name (kustomize/base/kustomization.yaml images[].newTag).
manifest_tag() {
  sed -n 's/^    newTag: \(.*\)$/\1/p' "$ROOT/kustomize/base/kustomization.yaml"
}

IMAGE_NAME="ghcr.io/rollcall/rollcall"
export IMAGE_NAME
