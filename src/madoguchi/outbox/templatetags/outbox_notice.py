"""The notice a 管理者 sees on the staff home page when messages failed for good."""

from django import template

from madoguchi.outbox.resend import failed_in
from madoguchi.tenants.permissions import admin_municipality_ids

register = template.Library()


@register.inclusion_tag("outbox/_failed_notice.html", takes_context=True)
def outbox_failed_notice(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"failed_count": 0}
    ids = admin_municipality_ids(user)
    return {"failed_count": failed_in(ids).count() if ids else 0}
