"""Queue statistics, job state, cleanup and reports: the admin side of the background jobs."""
