#!/usr/bin/env bash
# Drain benchmark: a throwaway PostgreSQL, N pre-filled no-op jobs drained by one worker
# (`jobgate bench drain`: an in-process WorkerPool, release build), next to the raw-SQL ceiling of the same claim +
# complete statements driven by pgbench (1 and 100 jobs per statement). synchronous_commit on.
# Usage: bench/drain.sh [jobs=200000] [concurrency=1000] [pgbench seconds=10] [pgbench clients=4]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh
JOBS=${1:-200000}; CONC=${2:-1000}; SECS=${3:-10}; CLIENTS=${4:-4}
jobgate_install_deps
swift build -c release --product jobgate >/dev/null
export JOBGATE_PG_EXTRA_OPTS="-c max_wal_size=16GB -c checkpoint_timeout=30min"  # as bench/run
jobgate_start_throwaway_pg
trap jobgate_stop_throwaway_pg EXIT
psql -qX -c "CREATE DATABASE bench" >/dev/null
export PGDATABASE=bench
.build/release/jobgate bench drain --jobs "$JOBS" --concurrency "$CONC"
psql -qX -c "SHOW synchronous_commit"
PGBENCH="$JOBGATE_TEST_PGBIN/pgbench"
SCRIPT=$(mktemp /tmp/jobgate-claim-complete.XXXXXX.sql)
trap 'rm -f "$SCRIPT"; jobgate_stop_throwaway_pg' EXIT
.build/release/jobgate bench pgbench-script claim-complete > "$SCRIPT"
for per in 100 1; do
  psql -qX -c "INSERT INTO jobgate.jobs (id, tenant, queue, type) SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'bench', 'pgbench', 'noop' FROM generate_series(1, $(( per == 100 ? 3000000 : 400000 ))) g" >/dev/null
  psql -qX -c "VACUUM ANALYZE jobgate.jobs" >/dev/null
  tps=$("$PGBENCH" -n -M prepared -c "$CLIENTS" -j 2 -T "$SECS" \
        -D n="$per" -D complete=1 -f "$SCRIPT" | awk '/^tps/ {print $3; exit}')
  [ -n "$tps" ] || { echo "pgbench gave no figure" >&2; exit 1; }
  echo "pgbench claim-$per + complete-$per, $CLIENTS clients: $tps tps = $(awk "BEGIN {printf \"%.0f\", $tps * $per}") jobs/s"
  psql -qX -c "DELETE FROM jobgate.jobs WHERE queue = 'pgbench'" >/dev/null
done
