"""The vendor guide's examples work on the sample municipality: the registration command it
shows (procedure identifier, client id) runs as written after `seed_demo`, and every procedure
identifier the guide or the OpenAPI description gives as an example exists there."""

import io
import re
import shlex
from pathlib import Path

import pytest
from django.core.management import call_command

from madoguchi.api.models import ApiClient
from madoguchi.catalog.models import Procedure
from madoguchi_dev.demo import DEMO_LG_CODE

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api"
GUIDE = (DOCS / "README.md").read_text(encoding="utf-8")
OPENAPI = (DOCS / "openapi.yaml").read_text(encoding="utf-8")


def guide_command(name: str) -> list[str]:
    """The arguments of the first `madoguchi <name>` command in the guide's shell blocks."""
    for block in re.findall(r"```sh\n(.*?)```", GUIDE, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            words = shlex.split(line)
            if words[:2] == ["madoguchi", name]:
                return words[2:]
    raise AssertionError(f"the guide shows no `madoguchi {name}` command")


def example_procedures() -> set[str]:
    found = set(re.findall(r"--procedure[ =]([A-Za-z0-9_-]+)", GUIDE))
    found |= set(re.findall(r"procedure=([A-Za-z0-9_-]+)", GUIDE))
    found |= set(re.findall(r"手続の識別子（slug）。例: ([A-Za-z0-9_-]+)", OPENAPI))
    return found


@pytest.mark.django_db
def test_guide_registration_command_runs_on_the_sample_municipality():
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    args = guide_command("create_api_client")
    out = io.StringIO()
    call_command("create_api_client", *args, stdout=out)
    client = ApiClient.objects.get()
    assert client.municipality.lg_code == DEMO_LG_CODE == args[args.index("--municipality") + 1]
    # The token request example uses the client id the command creates.
    token_example = re.search(r"client_id=([A-Za-z0-9_-]+)", GUIDE).group(1)
    assert client.client_id == token_example
    assert client.client_id in out.getvalue()


@pytest.mark.django_db
def test_every_example_procedure_identifier_exists_after_seed_demo():
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    examples = example_procedures()
    assert "jidou_teate_nintei" in examples
    existing = set(
        Procedure.objects.filter(municipality__lg_code=DEMO_LG_CODE).values_list("slug", flat=True)
    )
    assert examples <= existing, examples - existing
