"""What one client may see and do (its grants), resolved once per request.

Grants are additive: a grant without a procedure applies to every procedure of the client's
municipality, a grant naming a procedure to that procedure only, and an action is allowed on
a case when any grant that applies to its procedure allows it. A case outside the client's
municipality, a draft, or a case of a procedure the client may not read looks to the client
as if it did not exist (404); a readable case whose action is not granted is 403.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from madoguchi.applications.models import Application, Status
from madoguchi.core.prepared import PreparedQuery

from .models import ApiClient, ApiGrant

ACTIONS = (
    "can_read_applications",
    "can_read_attachments",
    "can_acknowledge",
    "can_write_status",
    "can_write_notes",
    "can_read_individual_number",
)


# Read at every request of a client system: SQL compiled once per process (core.prepared).
_grants = PreparedQuery(
    ApiGrant, lambda client: ApiGrant.objects.filter(client=client), ("client",)
)


@dataclass
class Scope:
    client: ApiClient
    # action → (applies to every procedure, procedure ids it applies to)
    actions: dict[str, tuple[bool, frozenset[int]]] = field(default_factory=dict)

    @classmethod
    def for_client(cls, client: ApiClient) -> "Scope":
        grants = _grants.objects(client=client.pk)
        actions = {}
        for action in ACTIONS:
            allowed = [g for g in grants if getattr(g, action)]
            everywhere = any(g.procedure_id is None for g in allowed)
            procedures = frozenset(g.procedure_id for g in allowed if g.procedure_id)
            actions[action] = (everywhere, procedures)
        return cls(client=client, actions=actions)

    def allows(self, action: str, procedure_id: int) -> bool:
        everywhere, procedures = self.actions.get(action, (False, frozenset()))
        return everywhere or procedure_id in procedures

    def readable(self):
        """Every case the client may read (submitted cases only, never drafts)."""
        everywhere, procedures = self.actions["can_read_applications"]
        return _readable(self.client.municipality_id, everywhere, procedures)

    def readable_case(self, receipt_number: str) -> Application | None:
        """The case of that 受付番号 if the client may read it, with its municipality,
        procedure, form version and proxy business (the detail and every action read it)."""
        everywhere, procedures = self.actions["can_read_applications"]
        if not everywhere and not procedures:
            return None
        return _case.first(
            everywhere,
            municipality=self.client.municipality_id,
            procedures=[] if everywhere else sorted(procedures),
            receipt_number=receipt_number,
        )


def _readable(municipality_id, everywhere: bool, procedures):
    queryset = Application.objects.filter(municipality_id=municipality_id).exclude(
        status=Status.DRAFT
    )
    if everywhere:
        return queryset
    if not procedures:
        return queryset.none()
    return queryset.filter(Q(procedure_id__in=procedures))


# The case a request names, read at every detail, download and action of a client system:
# its SQL (five tables) compiled once per process and shape of grants (core.prepared).
_case = PreparedQuery(
    Application,
    lambda everywhere, municipality, procedures, receipt_number: (
        _readable(municipality, everywhere, procedures)
        .select_related("municipality", "procedure", "form_version", "proxy_business")
        .filter(receipt_number=receipt_number)
    ),
    ("municipality", "procedures"),
    strings=("receipt_number",),
)
