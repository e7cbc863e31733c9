#!/usr/bin/env bash
# Points a copy of this repository at a Git repository: sets repoURL and targetRevision in the copy's
# argocd/settings/source.yaml, the one place the bundle names its repository (argocd/README.md). Used by
# git-server.sh for the kind cluster and by cluster/argocd/git-repo.ts for the local control plane, so both point the
# bundle the same way. Only the copy's working tree is edited; commit it afterwards.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/point-source.sh COPY REPO_URL REVISION [--dry-run]"; }
positional=()
flags=()
for arg in "$@"; do
  case "$arg" in
    -*) flags+=("$arg") ;;
    *) positional+=("$arg") ;;
  esac
done
parse_args ${flags[@]+"${flags[@]}"}
if [ "${#positional[@]}" -ne 3 ]; then usage >&2; exit 2; fi
copy="${positional[0]}" repo_url="${positional[1]}" revision="${positional[2]}"
file="$copy/argocd/settings/source.yaml"
[ -f "$file" ] || { echo "no $file" >&2; exit 1; }
# '#' delimits the sed expressions: URLs hold '/' but never '#'. Each key must be there once, as ConfigMap data.
case "$repo_url$revision" in *'#'*) echo "a URL or revision with '#' cannot be written" >&2; exit 2 ;; esac
for key in repoURL targetRevision; do
  [ "$(grep -c "^  $key: " "$file")" = 1 ] || { echo "$file: expected exactly one '  $key:' line" >&2; exit 1; }
done
run edit_file "s#^  repoURL: .*#  repoURL: $repo_url#; s#^  targetRevision: .*#  targetRevision: $revision#" "$file"
