# Makes sure a NATS server with JetStream answers for the cluster tests and exports TEST_NATS_URL.
# Sourced by tests/run. An existing TEST_NATS_URL is used as it is.

ensure_nats() {
  if [ -n "${TEST_NATS_URL:-}" ]; then
    return 0
  fi
  export TEST_NATS_URL="nats://127.0.0.1:4222"
  if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
    return 0
  fi
  if ! command -v nats-server >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "NATS is not installed. Install it (apt-get install nats-server) or set TEST_NATS_URL." >&2
      return 1
    fi
    echo "Installing NATS from Debian's packages…" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null; }
  fi
  echo "Starting NATS with JetStream…" >&2
  local store
  store=$(mktemp -d)
  nats-server -a 127.0.0.1 -p 4222 -js -sd "$store" >"$store/nats.log" 2>&1 &
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && return 0
    sleep 0.1
  done
  echo "NATS did not start; its log: $store/nats.log" >&2
  return 1
}
