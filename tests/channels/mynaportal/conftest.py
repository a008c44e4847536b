import datetime

import pytest

from madoguchi.catalog.models import Procedure
from madoguchi.channels.models import MynaportalMapping
from madoguchi_dev.testca import TestCA

from .helpers import Simulator


@pytest.fixture(autouse=True)
def _allow_test_ca(settings):
    settings.JPKI_ALLOW_TEST_CA = True
    # The simulator listens on loopback, an internal address: allowed by the operator's list.
    settings.MADOGUCHI_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def ca(tmp_path):
    return TestCA.create(tmp_path / "sim")


@pytest.fixture
def card(ca):
    return ca.issue_card(
        name="山田 花子",
        sex="2",
        birth=datetime.date(1985, 4, 1),
        address="東京都千代田区千代田1-1",
    )


@pytest.fixture
def trust(ca):
    return ca.trust_store()


@pytest.fixture
def procedure(loaded_municipality):
    return Procedure.objects.get(municipality=loaded_municipality, slug="jidou_teate_genkyo")


@pytest.fixture
def mapping(loaded_municipality, procedure):
    return MynaportalMapping.objects.create(
        municipality=loaded_municipality,
        procedure=procedure,
        procedure_code="jidou_teate_genkyo",
        items={"health_insurance": "insurance_document"},
    )


@pytest.fixture
def db_trust(ca, db):
    """The test CA (and its CRL) loaded into the database, as a 管理者 would."""
    from cryptography.hazmat.primitives import serialization

    from madoguchi.identity.truststore import add_crl, add_trust_anchor

    add_trust_anchor(ca.certificate.public_bytes(serialization.Encoding.PEM), name="test")
    add_crl(ca.crl())
    return ca


@pytest.fixture
def simulator(tmp_path, ca):
    sim = Simulator(tmp_path / "sim").start()
    yield sim
    sim.stop()
