"""Issue 19, item 12: after a Redis outage the jobs written meanwhile left 3.5-7.8 s after Redis returned, because
the relay's retry delay doubled to 10 s. It is capped at 2 s now, so they leave within about two seconds."""

from watchparty.jobs.outbox import MAX_BACKOFF_S, next_backoff


def test_the_retry_delay_doubles_and_never_passes_two_seconds() -> None:
    delays, current = [], 0.1
    for _ in range(10):
        current = next_backoff(current)
        delays.append(current)
    assert delays[:4] == [0.2, 0.4, 0.8, 1.6]
    assert max(delays) == MAX_BACKOFF_S == 2.0
    assert delays[-1] == 2.0
