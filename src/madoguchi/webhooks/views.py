"""Webhook pages for 管理者 (/staff/webhooks/): subscriptions per client with their state and
delivery log, creating one (the secret is shown once), re-enabling, stopping, rotating the
secret, a test ping, and the hosts allowed as targets.

Everyone else gets a 404, and a 管理者 only sees the clients of the municipalities they
administer.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from madoguchi.api.models import ApiClient
from madoguchi.core import outbound
from madoguchi.tenants.decorators import admin_required
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.permissions import admin_municipality_ids

from . import events, sending
from .hosts import TargetError, check_target, normalize_host, target_host
from .models import AllowedWebhookHost, Event, WebhookSubscription, new_secret

PAGE_SIZE = 50


def _subscriptions(request):
    return WebhookSubscription.objects.filter(
        client__municipality_id__in=admin_municipality_ids(request.user)
    ).select_related("client__municipality")


def _subscription(request, subscription_id) -> WebhookSubscription:
    subscription = _subscriptions(request).filter(pk=subscription_id).first()
    if subscription is None:
        raise Http404("no such subscription of an administered municipality")
    return subscription


def _clients(request):
    return (
        ApiClient.objects.filter(municipality_id__in=admin_municipality_ids(request.user))
        .select_related("municipality")
        .order_by("municipality__lg_code", "name")
    )


@admin_required
def subscription_list(request):
    clients = list(_clients(request).prefetch_related("webhook_subscriptions"))
    return render(
        request,
        "webhooks/list.html",
        {
            "clients": clients,
            "multiple_municipalities": len(admin_municipality_ids(request.user)) > 1,
        },
    )


def _secret_page(request, subscription, *, created: bool):
    response = render(
        request,
        "webhooks/secret.html",
        {"subscription": subscription, "secret": subscription.secret, "created": created},
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@admin_required
def subscription_new(request):
    clients = list(_clients(request))
    chosen = {"client": "", "url": "", "events": list(Event.values)}
    errors: dict[str, str] = {}
    if request.method == "POST":
        chosen = {
            "client": request.POST.get("client", ""),
            "url": request.POST.get("url", "").strip(),
            "events": [e for e in request.POST.getlist("events") if e in Event.values],
        }
        client = next((c for c in clients if str(c.pk) == chosen["client"]), None)
        if client is None:
            errors["client"] = _("連携先システムを選んでください。")
        try:
            if client is not None:
                check_target(chosen["url"], client.municipality_id)
            else:
                target_host(chosen["url"])
        except TargetError as exc:
            errors["url"] = str(exc)
        if "url" not in errors:
            try:
                outbound.check_url_when_saved(chosen["url"])
            except outbound.BlockedAddressError as exc:
                errors["url"] = str(exc)
        if len(chosen["url"]) > 500:
            errors["url"] = _("送信先URLは500文字以内で入力してください。")
        if not chosen["events"]:
            errors["events"] = _("通知するイベントを1つ以上選んでください。")
        if not errors:
            with transaction.atomic():
                subscription = WebhookSubscription.objects.create(
                    client=client,
                    url=chosen["url"],
                    events=[e for e in Event.values if e in chosen["events"]],
                )
            return _secret_page(request, subscription, created=True)
    return render(
        request,
        "webhooks/new.html",
        {"clients": clients, "chosen": chosen, "errors": errors, "events": Event.choices},
        status=400 if errors else 200,
    )


@admin_required
def subscription_detail(request, subscription_id):
    subscription = _subscription(request, subscription_id)
    page = Paginator(subscription.deliveries.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    host_allowed = True
    try:
        check_target(subscription.url, subscription.client.municipality_id)
    except TargetError:
        host_allowed = False
    return render(
        request,
        "webhooks/detail.html",
        {"subscription": subscription, "page": page, "host_allowed": host_allowed},
    )


@admin_required
@require_POST
def subscription_enable(request, subscription_id):
    subscription = _subscription(request, subscription_id)
    sending.enable(subscription)
    messages.success(request, _("送信を再開しました。"))
    return redirect("webhooks:detail", subscription_id=subscription.pk)


@admin_required
@require_POST
def subscription_disable(request, subscription_id):
    subscription = _subscription(request, subscription_id)
    if subscription.is_active:
        sending.disable(subscription, _("管理者が停止しました。"))
    messages.success(request, _("送信を停止しました。"))
    return redirect("webhooks:detail", subscription_id=subscription.pk)


@never_cache
@admin_required
@require_POST
def subscription_rotate(request, subscription_id):
    subscription = _subscription(request, subscription_id)
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret"])
    return _secret_page(request, subscription, created=False)


@admin_required
@require_POST
def subscription_ping(request, subscription_id):
    subscription = _subscription(request, subscription_id)
    with transaction.atomic():
        events.enqueue_ping(subscription)
    messages.success(
        request,
        _(
            "テスト送信を受け付けました。結果は下の送信記録に表示されます（再読み込みしてください）。"
        ),
    )
    return redirect("webhooks:detail", subscription_id=subscription.pk)


@admin_required
def host_list(request):
    municipality_ids = admin_municipality_ids(request.user)
    municipalities = list(Municipality.objects.filter(pk__in=municipality_ids).order_by("lg_code"))
    errors: dict[str, str] = {}
    chosen = {"host": "", "municipality": str(municipalities[0].pk) if municipalities else ""}
    if request.method == "POST":
        chosen = {
            "host": request.POST.get("host", "").strip(),
            "municipality": request.POST.get("municipality", chosen["municipality"]),
        }
        municipality = next(
            (m for m in municipalities if str(m.pk) == chosen["municipality"]), None
        )
        if municipality is None:
            errors["municipality"] = _("団体を選んでください。")
        host = ""
        try:
            host = normalize_host(chosen["host"])
            outbound.check_url_when_saved(f"https://{host}")
        except TargetError as exc:
            errors["host"] = str(exc)
        except outbound.BlockedAddressError as exc:
            errors["host"] = str(exc)
        if (
            not errors
            and AllowedWebhookHost.objects.filter(municipality=municipality, host=host).exists()
        ):
            errors["host"] = _("このホストはすでに許可されています。")
        if not errors:
            AllowedWebhookHost.objects.create(municipality=municipality, host=host)
            messages.success(
                request, _("送信先ホスト「%(host)s」を許可しました。") % {"host": host}
            )
            return redirect("webhooks:hosts")
    hosts = AllowedWebhookHost.objects.filter(municipality_id__in=municipality_ids).select_related(
        "municipality"
    )
    return render(
        request,
        "webhooks/hosts.html",
        {
            "hosts": hosts,
            "municipalities": municipalities,
            "chosen": chosen,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@admin_required
@require_POST
def host_delete(request, allowed_host_id):
    host = AllowedWebhookHost.objects.filter(
        pk=allowed_host_id, municipality_id__in=admin_municipality_ids(request.user)
    ).first()
    if host is None:
        raise Http404("no such host of an administered municipality")
    host.delete()
    messages.success(
        request,
        _(
            "送信先ホスト「%(host)s」の許可を取り消しました。このホストへの送信は行われなくなります。"
        )
        % {"host": host.host},
    )
    return redirect("webhooks:hosts")
