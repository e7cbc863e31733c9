#!/usr/bin/env bash
# Plain kubectl, without Argo CD: `scripts/cluster/apply-plain.sh OVERLAY [--dry-run]`, release after release.
# Without Argo CD the hook Jobs (smoke test, recreate) are ordinary Jobs, and a Job's spec.template cannot be changed
# (kubernetes#48388), so the second release's `kubectl apply -k` would be refused. This:
#  1. deletes the overlay's finished hook Jobs (label app.kubernetes.io/part-of=rollcall, condition Complete or
#     Failed; Jobs only, never the StatefulSet or its volumes), and stops without changing anything while one is
#     still running (a previous release's hook: let it finish, then run this again);
#  2. applies the overlay. It carries its own Namespace with the Pod Security labels (kustomize/base/namespace.yaml),
#     which kustomize puts first, so the first run creates the namespace labelled;
#  3. waits for every hook Job to finish (HOOK_TIMEOUT_SECONDS, default 780 = the Jobs' 720 s deadline + 60 s),
#     prints each one's outcome and log, and exits 1 when one failed: what a failed sync is under Argo CD.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/apply-plain.sh OVERLAY [--dry-run]   (OVERLAY: one of kustomize/overlays/*; HOOK_TIMEOUT_SECONDS=780)"; }
overlay="${1:-}"
if [ -z "$overlay" ] || [ "${overlay#-}" != "$overlay" ]; then usage >&2; exit 2; fi
shift
parse_args "$@"
[ -d "$ROOT/kustomize/overlays/$overlay" ] || { echo "no overlay $overlay in kustomize/overlays/" >&2; exit 2; }
require kubectl

ns="rollcall-$overlay"
selector="app.kubernetes.io/part-of=rollcall"
hook_timeout="${HOOK_TIMEOUT_SECONDS:-780}"
# One line per Job: NAME=TYPES, TYPES being its conditions that are True (Complete, Failed, or none while it runs).
job_states() {
  kubectl -n "$ns" get jobs -l "$selector" -o jsonpath='{range .items[*]}{.metadata.name}{"="}{.status.conditions[?(@.status=="True")].type}{"\n"}{end}'
}
# finished TYPES: the Job reached a final condition (FailureTarget and SuccessCriteriaMet come before those).
finished() {
  case " $1 " in *" Complete "* | *" Failed "*) return 0 ;; *) return 1 ;; esac
}

# 1. Finished hook Jobs out of the way; a running one stops the script.
printf '+ kubectl -n %s get jobs -l %s   # finished ones are deleted, a running one stops this\n' "$ns" "$selector"
if [ "$DRY_RUN" = 0 ]; then
  done_jobs=""
  running=""
  states="$(job_states)"
  while IFS='=' read -r name types; do
    [ -n "$name" ] || continue
    if finished "$types"; then done_jobs="$done_jobs $name"; else running="$running $name"; fi
  done <<EOF
$states
EOF
  if [ -n "$running" ]; then
    echo "hook Job(s)$running in $ns still running (a previous release's hooks); nothing changed." >&2
    echo "Wait for them (kubectl -n $ns get jobs -w), then run this again." >&2
    exit 1
  fi
  if [ -n "$done_jobs" ]; then
    # shellcheck disable=SC2086 # one argument per Job name
    run kubectl -n "$ns" delete job $done_jobs --ignore-not-found --wait=true
  fi
fi

# 2. The release.
run kubectl apply -k "$ROOT/kustomize/overlays/$overlay"

# 3. The hooks' outcome.
printf '+ kubectl -n %s get jobs -l %s   # until every hook Job is Complete or Failed, at most %s s\n' "$ns" "$selector" "$hook_timeout"
[ "$DRY_RUN" = 1 ] && exit 0
polls=0
while :; do
  states="$(job_states)"
  pending=""
  while IFS='=' read -r name types; do
    [ -n "$name" ] || continue
    finished "$types" || pending="$pending $name"
  done <<EOF
$states
EOF
  [ -z "$pending" ] && break
  polls=$((polls + 1))
  if [ "$polls" -gt "$(max_polls "$hook_timeout")" ]; then
    echo "hook Job(s)$pending in $ns not finished within $hook_timeout s" >&2
    exit 1
  fi
  sleep "$POLL_SECONDS"
done
failed=""
while IFS='=' read -r name types; do
  [ -n "$name" ] || continue
  if finished "$types" && [ "${types#*Failed}" = "$types" ]; then outcome=Complete; else outcome=Failed; failed="$failed $name"; fi
  echo "hook $name: $outcome"
  kubectl -n "$ns" logs "job/$name" --tail=50 2>&1 | sed 's/^/    /' || true
done <<EOF
$states
EOF
if [ -n "$failed" ]; then
  echo "hook Job(s)$failed failed: this release is not good (their log is above; the Jobs stay for kubectl logs)" >&2
  exit 1
fi
echo "every hook Job completed in $ns"
