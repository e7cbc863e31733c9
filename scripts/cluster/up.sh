#!/usr/bin/env bash
# The whole local path in one go: kind cluster, image built and loaded, Argo CD and the Argo Rollouts controller
# (canary-analysis needs it) installed, in-cluster Git repository, root Application synced. Each step is its own
# script; --dry-run is passed to each and prints every command.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/up.sh [--dry-run]"; }
parse_args "$@"

dir="$(dirname "${BASH_SOURCE[0]}")"
for step in create-cluster build-image install-argocd install-argo-rollouts git-server sync; do
  echo "== $step"
  # Two calls instead of an optional-flag array: an empty "${flag[@]}" stops bash < 4.4 under set -u.
  if [ "$DRY_RUN" = 1 ]; then bash "$dir/$step.sh" --dry-run; else bash "$dir/$step.sh"; fi
done
