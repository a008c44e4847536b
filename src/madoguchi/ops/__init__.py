"""Running madoguchi in production: health and readiness, request ids and structured logs,
metrics, error reporting, the deployment role (public / internal / all) and the locks that
keep scheduled jobs single when several workers run them."""
