# Makes sure a PostgreSQL server answers for the tests and exports TEST_DATABASE_URL.
# Sourced by tests/run. An existing TEST_DATABASE_URL is used as it is.

ensure_postgres() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    return 0
  fi
  local url="postgres://q10test:q10test@127.0.0.1:5432/postgres"
  if ! command -v pg_lsclusters >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "PostgreSQL is not installed. Install it (apt-get install postgresql) or set TEST_DATABASE_URL." >&2
      return 1
    fi
    echo "Installing PostgreSQL from Debian's packages…" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local version
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
    echo "Starting PostgreSQL ${version}…" >&2
    if [ "$(id -u)" -eq 0 ]; then
      pg_ctlcluster --skip-systemctl-redirect "$version" main start
    else
      pg_ctlcluster "$version" main start
    fi
  fi
  for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.2
  done
  # A login role that may create the tests' throw-away databases.
  local sql="DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'q10test') THEN
      CREATE ROLE q10test LOGIN CREATEDB PASSWORD 'q10test';
    END IF; END \$\$;"
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- psql -q -d postgres -c "$sql" >/dev/null
  else
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "$sql" >/dev/null
  fi
  export TEST_DATABASE_URL="$url"
}
