# Runs a load program once on a fresh SQLite file and once on a fresh PostgreSQL database:
#   on_both_engines PROGRAM [ARGS…]   (the program takes --database)
# PostgreSQL comes from BENCH_DATABASE_URL (an account that may create databases), else the
# server deploy/lib/postgres.sh starts. SKIP_POSTGRES=1 or SKIP_SQLITE=1 measures one engine.
on_both_engines() {
  local load=$1
  shift
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if [ -z "${SKIP_SQLITE:-}" ]; then
    echo "== SQLite" >&2
    "$load" --database "$work/q10.db" "$@"
  fi
  if [ -z "${SKIP_POSTGRES:-}" ]; then
    if [ -z "${BENCH_DATABASE_URL:-}" ]; then
      # shellcheck source=../../deploy/lib/postgres.sh
      source deploy/lib/postgres.sh
      ensure_postgres
      BENCH_DATABASE_URL=$TEST_DATABASE_URL
    fi
    name="q10_bench_$$"
    psql -q "$BENCH_DATABASE_URL" -c "CREATE DATABASE $name"
    trap 'psql -q "$BENCH_DATABASE_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" || true; rm -rf "$work"' EXIT
    local url
    url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$BENCH_DATABASE_URL" "$name")
    echo "== PostgreSQL" >&2
    "$load" --database "$url" "$@"
  fi
}
