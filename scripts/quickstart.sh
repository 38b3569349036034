#!/usr/bin/env bash
# Confiture quickstart: build, get a PostgreSQL database, and run the main job end to end.
# Uses $DATABASE_URL when set; otherwise starts a throwaway cluster from the system's
# PostgreSQL binaries (/usr/lib/postgresql/*/bin) in a temp directory and removes it after.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

npm run --silent build

work=$(mktemp -d)
pgdata=""
runas=()
cleanup() {
  if [ -n "$pgdata" ]; then "${runas[@]}" "$bindir/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${DATABASE_URL:-}" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "No PostgreSQL server binaries found. Install them (Debian: apt-get install postgresql) or set DATABASE_URL." >&2
    exit 1
  fi
  pgdata="$work/pgdata"
  mkdir -p "$pgdata"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$work" "$pgdata"
    runas=(runuser -u postgres --)
  fi
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  "${runas[@]}" "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  "${runas[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$pgdata/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pgdata" start >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "Started a throwaway PostgreSQL on port $port."
fi

project="$work/project"
mkdir -p "$project"
cd "$project"
confiture() { echo "\$ confiture $*"; node "$root/dist/cli/bin.js" "$@"; }

confiture init
cat > db/migrations/001_create_users.up.sql <<'SQL'
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);
SQL
echo "DROP TABLE users;" > db/migrations/001_create_users.down.sql
cat > db/migrations/002_index_users_email.up.sql <<'SQL'
-- confiture:no-transaction
CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
SQL
cat > db/migrations/002_index_users_email.down.sql <<'SQL'
-- confiture:no-transaction
DROP INDEX CONCURRENTLY users_email_key;
SQL
confiture migrate up
confiture migrate status
confiture migrate down --steps 1
confiture migrate status --verbose
echo "Quickstart done: the project in $project is removed on exit."
