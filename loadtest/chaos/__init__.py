"""Chaos run: a steady load of chats across several nodes while nodes are
killed (-9, and now and then stopped with SIGTERM) and restarted at random.

    python loadtest/chaos.py --duration 60 --nodes 3 --customers 12 --agents 6

It starts its own redis-server (switchboard.embedded, AOF on), its own
PostgreSQL (switchboard.embedded_postgres, in a temporary folder under /tmp),
which every node archives to, and its own `switchboard serve` processes on
127.0.0.1 (without the HTTP API's rate limit: the checks read every history).
Customers and agents speak the wire protocol with the `websockets` client; when their socket closes they
reconnect to a live node and resume by `seq`, and send again what was not
acknowledged, with the same client_msg_id. At the end the load stops, the
nodes are all brought back, and the run checks, from the conversation
histories, the `events` stream and what every client received:

- every acknowledged message is in its history exactly once, in the order it
  was sent (so a client, which shows a conversation in seq order, shows it in
  that order), and reached the other side: the customer (agents' messages)
  and the agent that had the session to its end (customers' messages);
- no socket carried an event twice, nor one at or below the `last_seq` its
  hello resumed from (what a client got again because it resumed from below
  is counted as `resent_on_resume`);
- every session ended exactly once;
- no agent ever held more sessions than its capacity;
- once the archive has drained (`{sb}:archive:dirty` and its claims empty,
  every conversation's `archived_seq` at its `seq`), every acknowledged
  message is in PostgreSQL's `messages` exactly once, at the seq of its ack,
  found by client_msg_id and by its text (unique per message): `pg_found_once`
  of `pg_acked`, and `pg_missing`, `pg_doubled`, `pg_wrong_seq`.

It prints the figures as a table and as JSON (also written to --json) and
exits 1 when any check failed (2 when the run itself could not be set up).
`--redis-outage S` also kills Redis halfway and starts it again S seconds later;
`--postgres-kills N` kills PostgreSQL (-9) N times over the run and starts it
again on its data `--postgres-outage` seconds (3) later.
Progress goes to standard error; the node logs stay in --workdir.

The package, by part: `nodes` (the node processes, Redis, the chaos), `actors`
(customers and agents), `checks` (what must hold at the end), `run` (the run and
its command line).
"""

from .run import main

__all__ = ["main"]
