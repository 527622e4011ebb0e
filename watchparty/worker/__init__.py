"""The job worker: bullmq workers for the three queues, the outbox relay and the cleanup schedule."""
