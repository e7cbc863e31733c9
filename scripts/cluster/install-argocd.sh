#!/usr/bin/env bash
# Installs Argo CD from its release manifest (ARGOCD_VERSION, default v3.5.1) and sets the one controller setting the
# bundle relies on beyond its own files: controller.sync.timeout.seconds = 900 (argocd-cmd-params-cm; Argo CD >= 2.14,
# default 0 = none). The bundle's syncs end by themselves through the hooks' deadlines; the timeout is the backstop
# for anything else that would hold a sync Running (see argocd/README.md). The application controller reads the
# setting at start, hence the restart.
# https://argo-cd.readthedocs.io/en/stable/getting_started/
# https://argo-cd.readthedocs.io/en/stable/operator-manual/argocd-cmd-params-cm-yaml/
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: scripts/cluster/install-argocd.sh [--dry-run]   (ARGOCD_VERSION=v3.5.1 SYNC_TIMEOUT_SECONDS=900)"; }
parse_args "$@"
require kubectl

version="${ARGOCD_VERSION:-v3.5.1}"
timeout="${SYNC_TIMEOUT_SECONDS:-900}"
run_sh "kubectl create namespace argocd --dry-run=client -o yaml | kubectl apply -f -"
# Server-side apply: the CRDs are larger than the client-side last-applied annotation allows.
run kubectl apply -n argocd --server-side --force-conflicts -f "https://raw.githubusercontent.com/argoproj/argo-cd/$version/manifests/install.yaml"
run kubectl -n argocd patch configmap argocd-cmd-params-cm --type merge -p "{\"data\":{\"controller.sync.timeout.seconds\":\"$timeout\"}}"
run kubectl -n argocd rollout restart statefulset/argocd-application-controller
run kubectl -n argocd rollout status statefulset/argocd-application-controller --timeout=300s
run kubectl -n argocd rollout status deployment/argocd-repo-server --timeout=300s
run kubectl -n argocd rollout status deployment/argocd-applicationset-controller --timeout=300s
