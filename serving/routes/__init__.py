"""The HTTP routes: ``schedules`` (generate, evaluate, feedback), ``jobs`` (training), ``health`` (probes, models)."""
