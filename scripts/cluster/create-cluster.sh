#!/usr/bin/env bash
# Creates a local kind cluster named rollcall (CLUSTER_NAME). kind runs Kubernetes in Docker containers; its default
# CNI (kindnet) enforces NetworkPolicy from kind 0.24 on. Not run on the project's machines (no Docker daemon, no
# registry access): every command is shown by --dry-run and tested that way.
# https://kind.sigs.k8s.io/docs/user/quick-start/
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/create-cluster.sh [--dry-run]"; }
parse_args "$@"
require kind kubectl docker

run kind create cluster --name "$CLUSTER_NAME" --wait 180s
run kubectl cluster-info --context "kind-$CLUSTER_NAME"
