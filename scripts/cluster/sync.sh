#!/usr/bin/env bash
# Points Argo CD at the in-cluster repository and syncs: applies the root Application (app-of-apps) from the copy
# git-server.sh prepared, then waits until every rollcall Application is Synced and Healthy.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/sync.sh [--dry-run]"; }
parse_args "$@"
require kubectl

copy="$ROOT/.tmp/cluster-repo"
run kubectl apply -k "$copy/argocd/root"
run kubectl -n argocd wait application/rollcall-root --for=jsonpath='{.status.sync.status}'=Synced --timeout=300s
for dir in "$ROOT"/kustomize/overlays/*/; do
  overlay="$(basename "$dir")"
  run kubectl -n argocd wait "application/rollcall-$overlay" --for=jsonpath='{.status.health.status}'=Healthy --timeout=600s
done
run kubectl -n argocd get applications -l app.kubernetes.io/part-of=rollcall
