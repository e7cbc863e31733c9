#!/usr/bin/env bash
# Gives the cluster a Git repository it can reach: a git daemon in namespace rollcall-git (git-server.yaml), and this
# checkout's HEAD pushed to it as branch main, with argocd/settings/source.yaml pointing at that in-cluster URL (the
# one place the bundle names its repository). The edited copy lives in .tmp/cluster-repo; sync.sh applies from it.
# Your own working tree is never changed.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/git-server.sh [--dry-run]"; }
parse_args "$@"
require kubectl git

repo_url="git://git-server.rollcall-git.svc.cluster.local/rollcall.git"
copy="$ROOT/.tmp/cluster-repo"
port="${GIT_FORWARD_PORT:-19418}"

run kubectl apply -f "$ROOT/scripts/cluster/git-server.yaml"
run kubectl -n rollcall-git rollout status deployment/git-server --timeout=180s
run rm -rf "$copy"
run git clone --quiet --no-hardlinks "$ROOT" "$copy"
run edit_file "s#^  repoURL: .*#  repoURL: $repo_url#; s#^  targetRevision: .*#  targetRevision: main#" "$copy/argocd/settings/source.yaml"
run git -C "$copy" -c user.name=rollcall -c user.email=rollcall@localhost commit --quiet -am "Local cluster: repository $repo_url"
# A port-forward for the push only; stopped by its own PID. Ready once git can talk through it (up to 30 s).
printf '+ kubectl -n rollcall-git port-forward service/git-server %s:9418 &\n' "$port"
if [ "$DRY_RUN" = 0 ]; then
  kubectl -n rollcall-git port-forward service/git-server "$port:9418" >/dev/null &
  forward=$!
  trap 'kill "$forward" 2>/dev/null || true' EXIT
  tries=0
  until git ls-remote "git://127.0.0.1:$port/rollcall.git" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then echo "the port-forward to git-server did not answer within 30 s" >&2; exit 1; fi
    sleep 1
  done
fi
run git -C "$copy" push --force "git://127.0.0.1:$port/rollcall.git" HEAD:main
