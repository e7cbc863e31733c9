#!/usr/bin/env bash
# Builds the image the manifests name and loads it into the kind cluster (no registry needed).
# The tag is package.json's version, which is also what the app reports; it must equal the tag in
# kustomize/base/kustomization.yaml (both moved together by `npm run release -- X.Y.Z`), else this refuses.
# https://kind.sigs.k8s.io/docs/user/quick-start/#loading-an-image-into-your-cluster
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/build-image.sh [--dry-run]"; }
parse_args "$@"
require docker kind git

version="$(package_version)"
tag="$(manifest_tag)"
if [ -z "$version" ] || [ "$version" != "$tag" ]; then
  echo "package.json version \"$version\" differs from the image tag \"$tag\" in kustomize/base/kustomization.yaml; run npm run release -- X.Y.Z" >&2
  exit 1
fi
revision="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
run docker build --build-arg "VERSION=$version" --build-arg "REVISION=$revision" -t "$IMAGE_NAME:$version" "$ROOT"
run kind load docker-image "$IMAGE_NAME:$version" --name "$CLUSTER_NAME"
