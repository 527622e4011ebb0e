"""Background jobs: the outbox written in the request's transaction, the relay to bullmq, and the queues."""
