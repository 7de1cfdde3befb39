#!/usr/bin/env bash
# Builds the control-plane binaries that envtest runs (kube-apiserver, etcd)
# and kubectl from source through the Go module proxy, into
# bin/k8s/<version>/. setup-envtest's download site is not reachable from the
# machines this project is built on, so nothing may depend on it.
#
# Usage: hack/build-control-plane.sh [output-dir]
# Env:   KUBE_VERSION (default v1.37.2, the release matching client-go v0.37.x)
#        ETCD_VERSION (default v3.6.16)
#
# The build is skipped for every binary that is already present, so a second
# run takes well under a second.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-${ROOT}/bin/k8s/${KUBE_VERSION#v}-$(go env GOOS)-$(go env GOARCH)}"
mkdir -p "${OUT}"

log() { printf '[control-plane] %s\n' "$*" >&2; }

need=()
for b in kube-apiserver etcd kubectl; do
  [[ -x "${OUT}/${b}" ]] || need+=("${b}")
done
if [[ ${#need[@]} -eq 0 ]]; then
  log "using cached binaries in ${OUT}"
  echo "${OUT}"
  exit 0
fi

# Kubernetes' staging modules (k8s.io/api, k8s.io/client-go, ...) are required
# at v0.0.0 and replaced with ./staging paths in k8s.io/kubernetes' go.mod.
# Replace directives of a dependency do not apply to us, so a throwaway module
# points each one at its published v0.<minor>.<patch> tag instead.
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0

build_kube() {
  local mod="${WORK}/kube"
  mkdir -p "${mod}"
  cd "${mod}"
  go mod init control-plane-build >/dev/null 2>&1
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  local reps=()
  while read -r m; do
    reps+=("-replace=${m}=${m}@${STAGING_VERSION}")
  done < <(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "${gomod}")
  go mod edit -require="k8s.io/kubernetes@${KUBE_VERSION}" "${reps[@]}"
  # Keep the dependency versions Kubernetes itself was released with.
  awk '/^require \(/{r=1;next} r&&/^\)/{r=0} r&&$1!~/^k8s.io\// && $1!="//"{print "-require="$1"@"$2}' "${gomod}" \
    | xargs go mod edit
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy >/dev/null 2>&1 || go mod tidy
  local major minor
  major="$(echo "${KUBE_VERSION#v}" | cut -d. -f1)"
  minor="$(echo "${KUBE_VERSION#v}" | cut -d. -f2)"
  local ld="-s -w"
  # Stamp the release the same way Kubernetes' own build does, so
  # /version and kubectl report it (and emulation-version checks see it).
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
    ld+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
  done
  for b in kube-apiserver kubectl; do
    if [[ ! -x "${OUT}/${b}" ]]; then
      log "building ${b} ${KUBE_VERSION}${b/#kube-apiserver/ (the control plane takes about 6 minutes on 2 cores)}"
      go build -trimpath -ldflags "${ld}" -o "${OUT}/${b}.tmp" "k8s.io/kubernetes/cmd/${b}"
      mv "${OUT}/${b}.tmp" "${OUT}/${b}"
    fi
  done
}

build_etcd() {
  local mod="${WORK}/etcd"
  mkdir -p "${mod}"
  cd "${mod}"
  go mod init etcd-build >/dev/null 2>&1
  go mod edit -require="go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  cat > tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  go mod tidy >/dev/null 2>&1 || go mod tidy
  log "building etcd ${ETCD_VERSION}"
  go build -trimpath -ldflags "-s -w" -o "${OUT}/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "${OUT}/etcd.tmp" "${OUT}/etcd"
}

[[ -x "${OUT}/etcd" ]] || build_etcd
if [[ ! -x "${OUT}/kube-apiserver" || ! -x "${OUT}/kubectl" ]]; then build_kube; fi

"${OUT}/kube-apiserver" --version >&2
# sed reads all of its input (head would exit early and, under pipefail, fail the
# build with SIGPIPE when etcd prints more than one line).
"${OUT}/etcd" --version | sed -n 1p >&2
echo "${OUT}"
