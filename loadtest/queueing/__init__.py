"""The router checked against queueing theory: the real server run as an M/M/c queue.

One seeded scenario (Poisson arrivals at rate λ, exponential handle times of mean 1/μ, c
agents of capacity 1, a class per chat for the priority run) is played on a real node
(its embedded Redis and PostgreSQL, as the bench starts them, without the limits against
hostile clients): customers start chats at the drawn times in `accept_mode: "auto"`
queues, and each agent's client ends its chat and wraps it up at once when the chat's
drawn handle time has passed since the server connected it. Every chat's wait (the
session's `connected_at` minus its `queued_at`, both the server's clock) is set beside

- the ideal queue fed the same arrival and handle times, simulated exactly (`ideal`):
  first come first served for the M/M/c run; non-preemptive priority for the priority run,
  whose `high` and `low` chats go to two queues (priority 10 and 0) of the same agents;
- the textbook (`theory`): Erlang C's average speed of answer and probability of waiting,
  Cobham's wait per priority class;
- the ideal queue fed the times the server saw (each chat queued when the node queued it,
  holding its agent until its wrap-up): what remains is the router's own delay.

    PYTHONPATH=server python -m loadtest.queueing --quick   # about half a minute
    PYTHONPATH=server python -m loadtest.queueing           # about a minute
    PYTHONPATH=server python -m loadtest.queueing --json out.json

The package, by part: `scenario` (the drawn times), `theory` (Erlang C and Cobham), `ideal`
(the exact simulation), `real` (the run on a node), `report` (the comparison and its
tables), `run` (the command line). See docs/performance.md, "The router as a queue".
"""

from .run import main

__all__ = ["main"]
