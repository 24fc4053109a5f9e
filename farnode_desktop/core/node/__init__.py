"""One node's life: its runtime, launch spec, process host, supervisor, health, log reading and service."""
