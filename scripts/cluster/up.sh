#!/usr/bin/env bash
# The whole local path in one go: kind cluster, image built and loaded, Argo CD and the Argo Rollouts controller
# (canary-analysis needs it) installed, in-cluster Git repository, root Application synced. Each step is its own
# script; --dry-run is passed to each and prints every command.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/up.sh [--dry-run]"; }
parse_args "$@"

flag=()
[ "$DRY_RUN" = 1 ] && flag=(--dry-run)
dir="$(dirname "${BASH_SOURCE[0]}")"
for step in create-cluster build-image install-argocd install-argo-rollouts git-server sync; do
  echo "== $step"
  bash "$dir/$step.sh" "${flag[@]}"
done
