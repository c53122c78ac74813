"""The webhook relay: durable ingest, event log, live stream, pollers and rules worker."""
