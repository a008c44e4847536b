"""PostgreSQL as Django's database backend, with a health check that needs no round trip
when the connection shows nothing wrong (see `base`). The settings name it as ENGINE."""
