# Makes sure an MQTT broker (Mosquitto) answers for the tests and exports TEST_MQTT_ADDR.
# Sourced by tests/run. An existing TEST_MQTT_ADDR is used as it is.

ensure_mosquitto() {
  if [ -n "${TEST_MQTT_ADDR:-}" ]; then
    return 0
  fi
  export TEST_MQTT_ADDR="127.0.0.1:1883"
  if (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
    return 0
  fi
  if [ ! -x /usr/sbin/mosquitto ] && ! command -v mosquitto >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "Mosquitto is not installed. Install it (apt-get install mosquitto) or set TEST_MQTT_ADDR." >&2
      return 1
    fi
    echo "Installing Mosquitto from Debian's packages…" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null; }
  fi
  echo "Starting Mosquitto…" >&2
  local dir bin
  dir=$(mktemp -d)
  bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  printf 'listener 1883 127.0.0.1\nallow_anonymous true\n' >"$dir/mosquitto.conf"
  "$bin" -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && return 0
    sleep 0.1
  done
  echo "Mosquitto did not start; its log: $dir/mosquitto.log" >&2
  return 1
}
