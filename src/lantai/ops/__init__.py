"""运维 (operations): health and readiness probes, Prometheus metrics, structured logs, delivered
alerts, backup and restore, the move from SQLite to PostgreSQL. The top floor beside `web` and
`cli`: it reads every room's state through their services and is imported by none."""
