"""The gunicorn settings of the container image."""

from madoguchi.jp import banks
from madoguchi.ops import gunicorn_conf


def test_each_worker_loads_the_bank_codes_as_it_starts():
    banks._banks.cache_clear()
    gunicorn_conf.post_worker_init(worker=None)
    assert banks._banks.cache_info().currsize == 1
    assert banks.lookup_bank("0001").name == "みずほ"
