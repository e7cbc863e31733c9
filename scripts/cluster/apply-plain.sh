#!/usr/bin/env bash
# Plain kubectl, without Argo CD: `scripts/cluster/apply-plain.sh OVERLAY [--dry-run]`, release after release.
# Without Argo CD the hook Jobs (smoke test, recreate) are ordinary Jobs, and a Job's spec.template cannot be changed
# (kubernetes#48388), so the second release's `kubectl apply -k` would be refused. This deletes the finished hook Jobs
# of the overlay first (label app.kubernetes.io/part-of=rollcall; Jobs only, never the StatefulSet or its volumes),
# then applies: the new Jobs then run once against the new release, like the hooks under Argo CD.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/apply-plain.sh OVERLAY [--dry-run]   (OVERLAY: one of kustomize/overlays/*)"; }
overlay="${1:-}"
if [ -z "$overlay" ] || [ "${overlay#-}" != "$overlay" ]; then usage >&2; exit 2; fi
shift
parse_args "$@"
[ -d "$ROOT/kustomize/overlays/$overlay" ] || { echo "no overlay $overlay in kustomize/overlays/" >&2; exit 2; }
require kubectl

ns="rollcall-$overlay"
run_sh "kubectl create namespace $ns --dry-run=client -o yaml | kubectl apply -f -"
run kubectl -n "$ns" delete job -l app.kubernetes.io/part-of=rollcall --ignore-not-found --wait=true
run kubectl apply -k "$ROOT/kustomize/overlays/$overlay"
