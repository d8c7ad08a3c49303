# Multi-stage build of the controller: a static, stripped binary on a
# distroless base, running as a non-root user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) -t vault-intermediate-issuer .
#
# `make image-check` runs this file's go build line without a container
# engine and checks the binary it produces.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY signer/ signer/
COPY controllers/ controllers/
COPY cmd/ cmd/
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -mod=readonly -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/vault-intermediate-issuer ./cmd/vault-intermediate-issuer

FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="vault-intermediate-issuer" \
      org.opencontainers.image.description="cert-manager external issuer that signs intermediate CAs with a Vault or OpenBao PKI root, behind a policy" \
      org.opencontainers.image.source="https://github.com/golemtrust/vault-intermediate-issuer" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/vault-intermediate-issuer /vault-intermediate-issuer
USER 65532:65532
ENTRYPOINT ["/vault-intermediate-issuer"]
