"""Due timers and jobs, and the worker that claims them (SKIP LOCKED on PostgreSQL)."""
