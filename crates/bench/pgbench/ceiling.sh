#!/usr/bin/env bash
# The PostgreSQL server's one-statement booking rate (see schema.sql), with pgbench, at the
# client counts given (default 16 and 64), 10 s each. Usage:
#   crates/bench/pgbench/ceiling.sh [DATABASE-URL] [CLIENTS...]
# It creates its two tables (ceiling_*) in the database and drops them at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
url=${1:-postgres://postgres@127.0.0.1:5432/test}
shift || true
clients=("${@:-16 64}")
psql -q -v ON_ERROR_STOP=1 "$url" -f "$here/schema.sql"
for c in ${clients[@]}; do
    printf '%s clients: ' "$c"
    pgbench -n -M prepared -T 10 -c "$c" -j 2 -f "$here/booking.sql" "$url" 2>/dev/null |
        awk '/^tps/ { printf "%s transactions/s\n", $3 } /latency average/ { avg = $4 }'
done
psql -q "$url" -c 'DROP TABLE ceiling_bookings, ceiling_windows'
