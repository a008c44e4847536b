"""The list's rows written out (`serializers.application_summaries`) give exactly what
`ApplicationSummarySerializer` gives, the schema's own serializer."""

import datetime as dt
import zoneinfo

from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.api.serializers import ApplicationSummarySerializer, application_summaries
from madoguchi.applications.models import Channel, Status

ZONES = ["Asia/Tokyo", "UTC", "America/St_Johns", "Pacific/Chatham"]

moments = st.datetimes(
    min_value=dt.datetime(1990, 1, 1),
    max_value=dt.datetime(2200, 1, 1),
    timezones=st.sampled_from([dt.UTC, *map(zoneinfo.ZoneInfo, ZONES)]),
)
rows = st.fixed_dictionaries(
    {
        "receipt_number": st.text(min_size=1, max_size=30),
        "procedure": st.from_regex(r"[a-z][a-z0-9_-]{0,40}", fullmatch=True),
        "status": st.sampled_from([s for s in Status.values if s != Status.DRAFT]),
        "channel": st.sampled_from(Channel.values),
        "submitted_at": st.none() | moments,
        "updated_at": moments,
        "version": st.integers(min_value=0, max_value=2**31 - 1),
        "acknowledged": st.booleans(),
        "url": st.text(max_size=80),
    }
)


@settings(max_examples=300, deadline=None)
@given(page=st.lists(rows, max_size=5), zone=st.sampled_from(ZONES))
def test_the_written_out_rows_equal_the_serializers(page, zone):
    with timezone.override(zone):
        expected = ApplicationSummarySerializer(page, many=True).data
        assert application_summaries(page) == [dict(row) for row in expected]
