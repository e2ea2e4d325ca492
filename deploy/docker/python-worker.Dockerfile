# swapwire plus a Python worker in one image: `swapwire serve --worker
# "python3 /app/worker.py"` runs the model as supervised worker processes.
# The same image serves as the model container of the attach-mode variant
# (python3 /app/worker.py --addr tcp://127.0.0.1:PORT).
#
#   docker build -f deploy/docker/python-worker.Dockerfile \
#     --build-arg WORKER=examples/sklearn-digits/worker.py \
#     --build-arg PY_PACKAGES=python3-sklearn -t swapwire-python-worker:dev .
#
# Build from the repository root. The worker runtime needs only Debian's
# python3-grpcio and python3-protobuf; PY_PACKAGES adds the model's own.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/swapwire ./cmd/swapwire

FROM debian:trixie-slim
ARG PY_PACKAGES=""
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates python3 python3-grpcio python3-protobuf ${PY_PACKAGES} \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/swapwire /usr/local/bin/swapwire
COPY sdk/python/swapwire /opt/swapwire/python/swapwire
ENV PYTHONPATH=/opt/swapwire/python \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
ARG WORKER=examples/sklearn-digits/worker.py
COPY ${WORKER} /app/worker.py
# A fixed non-root user; the manifests run as 65532 with a read-only root
# file system and mount writable /tmp and cache volumes.
RUN groupadd --gid 65532 nonroot && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin nonroot
USER 65532:65532
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/swapwire"]
CMD ["serve", "--help"]
