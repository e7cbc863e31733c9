#!/usr/bin/env bash
# Installs the Argo Rollouts controller from its release manifest (ARGO_ROLLOUTS_VERSION, default v1.9.1, the release
# the canary-analysis overlay was written against). That overlay's AnalysisTemplate and AnalysisRun need its CRDs (Argo
# CD cannot apply an unknown kind) and its analysis controller, which runs the AnalysisRun and reads the canary's
# GET /stats from the argo-rollouts namespace; the other overlays do not need it. Run before the Applications sync.
# https://argo-rollouts.readthedocs.io/en/stable/installation/
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/install-argo-rollouts.sh [--dry-run]   (ARGO_ROLLOUTS_VERSION=v1.9.1)"; }
parse_args "$@"
require kubectl

version="${ARGO_ROLLOUTS_VERSION:-v1.9.1}"
run_sh "kubectl create namespace argo-rollouts --dry-run=client -o yaml | kubectl apply -f -"
run kubectl apply -n argo-rollouts -f "https://github.com/argoproj/argo-rollouts/releases/download/$version/install.yaml"
run kubectl -n argo-rollouts rollout status deployment/argo-rollouts --timeout=300s
