"""Switchboard's benchmark: its figures as ratios to two baselines measured in the same run.

The machines we measure on are shared and noisy, so an absolute figure means
little; each Switchboard figure is printed beside the same figure of

- `minimal`: a minimal Starlette relay (loadtest/baselines/minimal_relay.py),
  two sockets forwarded to each other through Redis pub/sub and nothing else;
- `socketio`: python-socketio with its AsyncRedisManager doing the same
  two-party relay (loadtest/baselines/socketio_relay.py),

all started here as real processes on 127.0.0.1 on one redis-server (the
embedded spawner, switchboard.embedded), with the same client (the
`websockets` library on uvloop, in this process). Switchboard's nodes also
share one embedded PostgreSQL (switchboard.embedded_postgres), their system
of record.

Figures (see docs/performance.md for what each one means and what limits it):
handshakes per second, server RSS per idle socket, relay latency (customer
send -> agent receive, p50/p99) at a paced load, relay throughput and CPU per
message (server and Redis) at saturation, routing latency (start_chat -> offer,
p50/p99) at a paced rate of chat starts, the relay throughput of three nodes
against one, the archive's figures (relay throughput with archiving to
PostgreSQL on against off in the same run, rows/s reaching PostgreSQL and
their lag at saturation, Redis bytes per finished conversation after the
live window; `archive`), and with --growth how routing latency grows with
agents per queue and with waiting sessions per queue, and what the node costs
at 100 to 5,000 open sockets.

    PYTHONPATH=server python -m loadtest.bench --quick          # about a minute and a half
    PYTHONPATH=server python -m loadtest.bench                  # a few minutes
    PYTHONPATH=server python -m loadtest.bench --growth         # growth tables only
    PYTHONPATH=server python -m loadtest.bench --json out.json  # the report as JSON too
    PYTHONPATH=server python -m loadtest.bench --archive-only   # the archive's figures only

The package, by part: `plan` (sizes of a run), `processes` (servers under test
and their CPU and memory), `connections` (the client sockets), `targets`
(Switchboard and the two baselines), `measure` (idle sockets, relay, routing),
`archive` (the archive's figures),
`report` (ratios and tables), `run` (one run and its command line).
"""

from .report import scale_out_projection
from .run import main

__all__ = ["main", "scale_out_projection"]
