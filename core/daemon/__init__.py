"""The scheduled daemon: APScheduler jobs, webhook listener, health and metrics."""
