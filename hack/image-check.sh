#!/usr/bin/env bash
# Builds the controller exactly as the Dockerfile's build stage does and checks
# the result, without a container engine. The go build command is read from
# the Dockerfile rather than repeated here, so the two cannot drift apart.
#
# Usage: VERSION=v1.2.3 hack/image-check.sh   (from the repository root)
set -euo pipefail
version=${VERSION:-dev}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

fail() {
  echo "image-check: $*" >&2
  exit 1
}

# The build stage's RUN instruction that calls go build, continuation lines
# joined, without the RUN keyword.
cmd=$(awk '
  /^RUN / && /go build/ { on = 1; sub(/^RUN[ \t]+/, "") }
  on { line = $0; more = sub(/\\[ \t]*$/, "", line); printf "%s ", line; if (!more) exit }
' Dockerfile)
[[ -n $cmd ]] || fail "no RUN ... go build instruction in the Dockerfile"
[[ $cmd == *" -o /out/vault-intermediate-issuer "* ]] || fail "the Dockerfile's go build does not write /out/vault-intermediate-issuer"
# The Dockerfile writes to /out; its build arguments are environment
# variables of the RUN instruction, and are here too.
cmd=${cmd//\/out\//$out/}
echo "image-check: $cmd"
VERSION=$version TARGETOS=$(go env GOOS) TARGETARCH=$(go env GOARCH) bash -ec "$cmd"
bin=$out/vault-intermediate-issuer

got=$("$bin" --version)
[[ $got == "vault-intermediate-issuer $version" ]] || fail "--version printed \"$got\", want \"vault-intermediate-issuer $version\""

# The build settings Go records in the binary prove how it was built.
info=$(go version -m "$bin")
grep -qP '^\tbuild\tCGO_ENABLED=0$' <<<"$info" || fail "the binary was not built with CGO_ENABLED=0"
grep -qP '^\tbuild\t-trimpath=true$' <<<"$info" || fail "the binary was not built with -trimpath"
# (-ldflags is not recorded with -trimpath: the --version check above proves
# -X main.version, and a stripped binary has no symbol table.)
syms=$(go tool nm "$bin" 2>&1 || true)
grep -q 'no symbols' <<<"$syms" || fail "the binary is not stripped (-ldflags -s -w)"

# The runtime stage: distroless static, non-root, OCI labels.
grep -qE '^FROM gcr\.io/distroless/static(-debian[0-9]+)?:nonroot' Dockerfile || fail "the runtime image is not distroless static nonroot"
grep -qE '^USER 65532(:65532)?$' Dockerfile || fail "the image does not run as USER 65532"
for label in title description source version revision licenses; do
  grep -q "org.opencontainers.image.$label=" Dockerfile || fail "OCI label org.opencontainers.image.$label is missing"
done
echo "image-check: ok: $got, CGO_ENABLED=0, -trimpath, stripped, version from -ldflags"
