"""Distributed mode: many retailers on many machines, on Procrastinate and PostgreSQL.

``tillbridge run --distributed`` (the producer, highly available: one active, elected with a
PostgreSQL session advisory lock) decides what is due, as the daemon does, and defers one
Procrastinate job per due (connection, flow); ``tillbridge worker`` processes run them with the
same runner, store and plugins as the daemon. See docs/distributed.md.
"""
