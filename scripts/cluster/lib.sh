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

# Runs on bash 3.2 (macOS's /bin/bash) and BSD userland as well as Linux (test/cluster-scripts.test.ts checks the
# constructs): no "${array[@]}" that may be empty under set -u (an "unbound variable" error before bash 4.4), no
# `sed -i` (BSD sed needs an argument after it, GNU sed must not have one), no GNU-only flags.

# Seconds between polls (wait_exists, apply-plain.sh's hook wait); tests set 0.
POLL_SECONDS="${POLL_SECONDS:-2}"
export POLL_SECONDS

# edit_file SED_SCRIPT FILE: `sed -i` without -i, the same on GNU and BSD sed: write a temp file, move it over.
edit_file() {
  sed -e "$1" "$2" >"$2.tmp" && mv "$2.tmp" "$2"
}

# max_polls SECONDS: how many polls POLL_SECONDS apart fit in SECONDS (with POLL_SECONDS=0, one per second's worth).
max_polls() {
  if [ "$POLL_SECONDS" -gt 0 ]; then echo $(($1 / POLL_SECONDS)); else echo "$1"; fi
}

# wait_exists NAMESPACE KIND/NAME SECONDS: poll until the object exists. `kubectl wait` fails at once on an object
# that does not exist yet, and some are made asynchronously (an ApplicationSet's Applications).
wait_exists() {
  local ns="$1" resource="$2" seconds="$3" polls=0
  printf '+ until kubectl -n %s get %s -o name; do sleep %s; done   # at most %s s\n' "$ns" "$resource" "$POLL_SECONDS" "$seconds"
  [ "$DRY_RUN" = 1 ] && return 0
  until kubectl -n "$ns" get "$resource" -o name >/dev/null 2>&1; do
    polls=$((polls + 1))
    if [ "$polls" -gt "$(max_polls "$seconds")" ]; then
      echo "$resource did not appear in namespace $ns within $seconds s" >&2
      return 1
    fi
    sleep "$POLL_SECONDS"
  done
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
