# Override BASE_IMAGE to build from another registry, e.g. docker.io/library/golang:1.26
ARG BASE_IMAGE=golang:1.26
# The module and its source, shared by the manager's build and the consumer's.
FROM ${BASE_IMAGE} AS source

WORKDIR /workspace
# Copy the Go Modules manifests
COPY go.mod go.mod
COPY go.sum go.sum
# cache deps before building and copying source so that we don't need to re-download as much
# and so that source changes don't invalidate our downloaded layer
RUN go mod download

# Copy the Go source (relies on .dockerignore to filter)
COPY . .

# Build the manager binary
FROM source AS builder
ARG TARGETOS
ARG TARGETARCH
# the GOARCH has no default value to allow the binary to be built according to the host where the command
# was called. For example, if we call make docker-build in a local env which has the Apple Silicon M1 SO
# the docker BUILDPLATFORM arg will be linux/arm64 when for Apple x86 it will be linux/amd64. Therefore,
# by leaving it empty we can ensure that the container and binary shipped on it will have the same platform.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o manager ./cmd
# The token proxy sidecar ships in the same image (run it with command: ["/okta-token-proxy"]).
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o okta-token-proxy ./cmd/okta-token-proxy

# The System Log consumer (config/samples/oktalogs), the workload that config/samples/oktalogs_deployment.yaml
# runs. It has its own stages so that the default target, the manager image below, does not build it:
#   docker build --target oktalogs -t oktalogs:latest .
FROM source AS oktalogs-builder
ARG TARGETOS
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o oktalogs ./config/samples/oktalogs

FROM gcr.io/distroless/static:nonroot AS oktalogs
WORKDIR /
COPY --from=oktalogs-builder /workspace/oktalogs .
USER 65532:65532
ENTRYPOINT ["/oktalogs"]

# The manager image: the last stage, so the default target.
# Use distroless as minimal base image to package the manager binary
# Refer to https://github.com/GoogleContainerTools/distroless for more details
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager .
COPY --from=builder /workspace/okta-token-proxy .
USER 65532:65532

ENTRYPOINT ["/manager"]
