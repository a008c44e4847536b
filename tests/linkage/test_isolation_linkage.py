"""The isolation harness, restricted to the linkage URLs (the full run is in tests/tenants)."""

import pytest
from django.test import Client

from tests.tenants.test_isolation import _clients, isolation_problems, world  # noqa: F401


@pytest.mark.django_db
def test_linkage_urls_are_isolated(world):  # noqa: F811
    problems, unfillable, checked = isolation_problems(world, _clients(world, Client))
    mine = [p for p in problems if p.startswith("linkage:")]
    assert not [u for u in unfillable if u.startswith("linkage:")]
    assert not mine, "\n".join(mine)
