#!/usr/bin/env bash
# Points Argo CD at the in-cluster repository and syncs: applies the root Application (app-of-apps) from the copy
# git-server.sh prepared, then waits until every rollcall Application is Synced and Healthy. The ApplicationSet creates
# the rollcall-<overlay> Applications some time after the root syncs, so each is first waited for to exist.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/sync.sh [--dry-run]   (APP_APPEAR_SECONDS=300)"; }
parse_args "$@"
require kubectl

copy="$ROOT/.tmp/cluster-repo"
# How long each Application may take to appear after the root synced (APP_APPEAR_SECONDS).
appear="${APP_APPEAR_SECONDS:-300}"
run kubectl apply -k "$copy/argocd/root"
run kubectl -n argocd wait application/rollcall-root --for=jsonpath='{.status.sync.status}'=Synced --timeout=300s
for dir in "$ROOT"/kustomize/overlays/*/; do
  overlay="$(basename "$dir")"
  wait_exists argocd "application/rollcall-$overlay" "$appear"
  run kubectl -n argocd wait "application/rollcall-$overlay" --for=jsonpath='{.status.health.status}'=Healthy --timeout=600s
done
run kubectl -n argocd get applications -l app.kubernetes.io/part-of=rollcall
