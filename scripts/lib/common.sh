# Shared by scripts/: installing what is missing and running PostgreSQL as an unprivileged user.

# Installs the Debian packages JobGate builds and tests with, if any is missing.
jobgate_install_deps() {
  local pkgs=(libpq-dev libmicrohttpd-dev libssl-dev postgresql pkg-config "$@")
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" apt-get install -y -q "${missing[@]}" >/dev/null
  }
}

# The directory holding initdb/pg_ctl.
jobgate_pg_bindir() {
  local d
  if command -v pg_config >/dev/null && d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ]; then
    echo "$d"; return 0
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2
  return 1
}

# Runs a command as the unprivileged PostgreSQL user when we are root (PostgreSQL refuses root).
jobgate_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts a throwaway cluster in a new temp dir; exports PG* for libpq and JOBGATE_TEST_* for tests.
# JOBGATE_PG_EXTRA_OPTS adds server options (bench/run sets checkpoint spacing).
jobgate_start_throwaway_pg() {
  local bindir dir port
  bindir=$(jobgate_pg_bindir)
  dir=$(mktemp -d /tmp/jobgate-pg.XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  jobgate_as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  # A random port below Linux's ephemeral range (32768 and up), where an outgoing connection of
  # another process can hold any port at any moment (CI once found its port taken so); tried
  # again on another port if taken all the same.
  local try
  for try in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 12000 ))
    jobgate_as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c max_connections=1500 -c shared_buffers=256MB ${JOBGATE_PG_EXTRA_OPTS:-}" start >/dev/null \
      && break
    grep -q "Address already in use" "$dir/server.log" && [ "$try" -lt 5 ] || { cat "$dir/server.log" >&2; return 1; }
    : >"$dir/server.log"
  done
  export PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
  export JOBGATE_TEST_PGDATA="$dir/data" JOBGATE_TEST_PGBIN="$bindir"
  JOBGATE_THROWAWAY_PG="$dir"
}

# After a failed run: what the server refused or complained of (CI keeps no files, so a
# connection refused as "too many clients" or a crash shows only here).
jobgate_throwaway_pg_complaints() {
  [ -n "${JOBGATE_THROWAWAY_PG:-}" ] && [ -f "$JOBGATE_THROWAWAY_PG/server.log" ] || return 0
  echo "--- the throwaway PostgreSQL's FATAL/PANIC lines, counted:" >&2
  grep -E "FATAL|PANIC" "$JOBGATE_THROWAWAY_PG/server.log" | sed -E 's/^.*(FATAL|PANIC)/\1/' | sort | uniq -c | sort -rn | head -20 >&2 || true
}

jobgate_stop_throwaway_pg() {
  [ -n "${JOBGATE_THROWAWAY_PG:-}" ] || return 0
  jobgate_as_pg "$JOBGATE_TEST_PGBIN/pg_ctl" -D "$JOBGATE_THROWAWAY_PG/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$JOBGATE_THROWAWAY_PG"
}

# Python test tools in a private venv under .build/ (PyPI is reachable for test tools; the
# versions are pinned in Tests/tools/requirements.txt so a run is repeatable). Exports
# JOBGATE_TEST_OPENAPI_VALIDATOR, and JOBGATE_TEST_PYTHON: the venv's python, with psycopg, for
# the tests that enqueue jobs from another language (Tests/tools/sql_submit_client.py).
jobgate_python_tools() {
  local venv=.build/pytools
  # Reinstalled when the pinned list changes.
  if ! cmp -s Tests/tools/requirements.txt "$venv/requirements.txt" || ! "$venv/bin/openapi-spec-validator" --help >/dev/null 2>&1 \
     || ! "$venv/bin/python" -c "import psycopg" >/dev/null 2>&1; then
    command -v python3 >/dev/null && python3 -c "import venv, ensurepip" 2>/dev/null || jobgate_install_deps python3-venv
    rm -rf "$venv"
    python3 -m venv "$venv"
    local try
    for try in 1 2 3; do
      "$venv/bin/pip" install -q --disable-pip-version-check -r Tests/tools/requirements.txt && break
      [ "$try" = 3 ] && { echo "could not install the Python test tools (Tests/tools/requirements.txt) from PyPI" >&2; return 1; }
      sleep 5
    done
    cp Tests/tools/requirements.txt "$venv/requirements.txt"
  fi
  export JOBGATE_TEST_OPENAPI_VALIDATOR="$PWD/$venv/bin/openapi-spec-validator"
  export JOBGATE_TEST_PYTHON="$PWD/$venv/bin/python"
}
