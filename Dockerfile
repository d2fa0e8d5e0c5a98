# Builds the production binaries (worker, starter). They never link the dev store or the sandbox.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/ ./cmd/worker ./cmd/starter

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/ /usr/local/bin/
COPY config/orderflow.yaml /etc/orderflow/orderflow.yaml
ENV ORDERFLOW_CONFIG=/etc/orderflow/orderflow.yaml
USER nonroot
