# Builds the production binaries (worker, starter). They never link the dev store or the sandbox.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The worker's Worker Deployment version, linked in as make does (docs/deploys.md): pass the source
# revision, e.g. --build-arg BUILD_ID=$(git describe --always --dirty), and tag
# the image with it: the Helm chart passes versioning.buildId, by default the tag.
ARG BUILD_ID=dev
RUN CGO_ENABLED=0 go build -ldflags "-X main.buildID=${BUILD_ID}" -o /out/ ./cmd/worker ./cmd/starter

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/ /usr/local/bin/
COPY config/orderflow.yaml /etc/orderflow/orderflow.yaml
ENV ORDERFLOW_CONFIG=/etc/orderflow/orderflow.yaml
USER nonroot
