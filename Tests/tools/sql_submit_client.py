"""An application in another language enqueueing JobGate jobs from SQL (DESIGN.md §16).

Run by SQLSubmitTests against a test database that has the table public.orders and the job
type `resize`: inside its own transactions it inserts an order and calls jobgate.submit, once
committing and once rolling back, then makes one invalid call. It prints one line,
`RESULT {json}`, with the ids and the SQLSTATE it saw; the Swift test checks the rows.

Usage: python sql_submit_client.py CONNINFO
"""

import json
import sys

import psycopg
from psycopg.types.json import Jsonb


def submit(cur, order_id, key):
    cur.execute("INSERT INTO public.orders (id) VALUES (%s)", (order_id,))
    cur.execute(
        "SELECT jobgate.submit(tenant => %s, type => %s, payload => %s, priority => %s, idempotency_key => %s)",
        ("acme", "resize", Jsonb({"order": order_id, "from": "python"}), 3, key),
    )
    return str(cur.fetchone()[0])


def main(conninfo):
    result = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # Committed: the order and the job together.
        with conn.transaction(), conn.cursor() as cur:
            result["committed"] = submit(cur, "py-commit", "py-1")
        # Replayed with the same key and request: the same job.
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "SELECT jobgate.submit(tenant => %s, type => %s, payload => %s, priority => %s, idempotency_key => %s)",
                ("acme", "resize", Jsonb({"from": "python", "order": "py-commit"}), 3, "py-1"),
            )
            result["replayed"] = str(cur.fetchone()[0])
        # Rolled back: neither the order nor the job.
        with conn.transaction() as tx, conn.cursor() as cur:
            result["rolledBack"] = submit(cur, "py-rollback", "py-2")
            raise psycopg.Rollback(tx)  # leaves the block rolled back, raising nothing further
        # Invalid: the error reaches the application with its SQLSTATE, and its transaction is undone.
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("INSERT INTO public.orders (id) VALUES ('py-invalid')")
                cur.execute("SELECT jobgate.submit('acme', 'no-such-type')")
        except psycopg.errors.InvalidParameterValue as e:
            result["invalidState"] = e.sqlstate
            result["invalidMessage"] = e.diag.message_primary
            result["invalidColumn"] = e.diag.column_name
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
