"""The resident portal: find a procedure, fill its form step by step, submit, follow it.

Residents are anonymous. A draft is reached through its resume token (in the URL) and a
submitted application through its status token; both are unguessable and only their digests
are stored. What the resident types is saved on the server at every step
(`services.save_step`), so neither a validation error nor going back loses anything.
Every page works without JavaScript; `madoguchi/enhance.js` only adds conveniences.
"""

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from madoguchi.applications import form_flow, services
from madoguchi.applications.models import Application
from madoguchi.applications.receipt_pdf import build_receipt_pdf
from madoguchi.catalog.models import Category, IdentityLevel, LifeEvent, Procedure
from madoguchi.core import encrypted, ratelimit
from madoguchi.core.client_address import client_address
from madoguchi.jp.errors import POSTAL_UNKNOWN, JpValueError
from madoguchi.jp.postal import check_postal_code, lookup_address
from madoguchi.jp.wareki import format_date
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.scoping import with_municipality

from . import search as procedure_search

FEEDBACK_CHOICES = [
    (5, gettext_lazy("とても使いやすい")),
    (4, gettext_lazy("使いやすい")),
    (3, gettext_lazy("ふつう")),
    (2, gettext_lazy("使いにくい")),
    (1, gettext_lazy("とても使いにくい")),
]

IDENTITY_EXPLANATIONS = {
    IdentityLevel.NONE: gettext_lazy(
        "本人確認は必要ありません。このページからそのまま申請できます。"
    ),
    IdentityLevel.EMAIL: gettext_lazy(
        "メールアドレスの入力が必要です。受付のお知らせや、審査の状況・書類の不備などの連絡を"
        "そのメールアドレスにお送りします。マイナンバーカードは必要ありません。"
    ),
    IdentityLevel.JPKI: gettext_lazy(
        "マイナンバーカードを使った本人確認（電子署名）が必要です。マイナンバーカードと、"
        "署名用電子証明書の暗証番号（英数字6〜16文字）を用意してください。"
    ),
}


# ----------------------------------------------------------------------------- helpers


class _FormEngine:
    """The form engine, imported on first use (keeps URL loading independent of it)."""

    @property
    def validation(self):
        from madoguchi.formengine import validation

        return validation

    @property
    def rendering(self):
        from madoguchi.formengine import rendering

        return rendering


_engine = _FormEngine()


def review_sections(form, answers):
    from madoguchi.formengine.display import review_sections as _review_sections

    return _review_sections(form, answers)


# Texts of procedures and forms in the resident's language (madoguchi.translations), text by
# text, falling back to Japanese. Only what the resident sees goes through these: what is
# stored, sent to staff or exported is the Japanese form's.


def _content_language() -> str | None:
    from madoguchi.translations.languages import content_language

    return content_language(get_language())


def _local_procedure(procedure):
    from madoguchi.translations.services import localized_procedure

    return localized_procedure(procedure, _content_language())


def _local_procedures(procedures):
    from madoguchi.translations.services import localized_procedures

    return localized_procedures(procedures, _content_language())


def _local_form(application: Application):
    from madoguchi.translations.services import localized_form

    return localized_form(application.form_version, _content_language())


def _local_steps(application: Application, form, steps) -> tuple:
    """(the resident's form, the same visible steps taken from it)."""
    local = _local_form(application)
    if local is form:
        return form, steps
    return local, [local.step(s.key) for s in steps]


def _local_position(application: Application, position):
    form, steps = _local_steps(application, position.form, position.steps)
    if form is position.form:
        return position
    return form_flow.StepPosition(form, steps, position.index)


def _base_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/")


def _open_procedures(municipality):
    return list(
        Procedure.objects.for_municipality(municipality)
        .open_now()
        .order_by("category", "reading", "pk")
    )


def _paragraphs(text: str) -> list[str]:
    """Plain text → paragraphs (blank lines separate paragraphs; single newlines kept)."""
    blocks = [block.strip() for block in (text or "").replace("\r\n", "\n").split("\n\n")]
    return [block for block in blocks if block]


def _expired(request, *, kind: str = "draft"):
    return render(request, "portal/expired.html", {"kind": kind}, status=404)


def _state_error(request, message: str, *, application=None, status: int = 409):
    return render(
        request,
        "portal/state_error.html",
        {"message": message, "application": application},
        status=status,
    )


def _answers(application: Application) -> dict:
    """The answers being edited: a draft's, or the corrected copy of a 要再申請 application."""
    return services.editable_answers(application)


def _visible_steps(application: Application):
    return form_flow.visible_steps(application)


def _status_url(request, token: str) -> str:
    return reverse("portal:status", args=[request.municipality.lg_code, token])


def _correction_context(application: Application) -> dict:
    """For a 要再申請 application being corrected: the staff's message saying what to fix."""
    if not services.is_correction(application):
        return {"correction": None}
    event = services.correction_request(application)
    return {"correction": {"message": event.message if event else ""}}


def _step_url(request, token: str, step_key: str, **query) -> str:
    url = reverse("portal:step", args=[request.municipality.lg_code, token, step_key])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _confirm_url(request, token: str) -> str:
    return reverse("portal:confirm", args=[request.municipality.lg_code, token])


def _progress(request, token, application, steps, current_key: str | None):
    """Progress indicator: every visible step, then the confirmation step."""
    return form_flow.build_progress(
        application,
        steps,
        current_key,
        step_url=lambda step_key: _step_url(request, token, step_key),
        confirm_url=lambda: _confirm_url(request, token),
    )


def _postal_base(request) -> str:
    url = reverse("portal:postal", args=[request.municipality.lg_code, "0000000"])
    return url.removesuffix("0000000/")


# ----------------------------------------------------------------------------- catalog


@require_GET
def home(request):
    municipalities = list(Municipality.objects.filter(is_active=True).order_by("lg_code"))
    if len(municipalities) == 1:
        return redirect("portal:municipality_home", municipalities[0].lg_code)
    return render(request, "portal/home.html", {"municipalities": municipalities})


@require_GET
@with_municipality
def municipality_home(request):
    # Only the two columns counted: a whole procedure row (its texts and JSON fields made
    # into objects) costs the page several times the counting.
    procedures = list(
        Procedure.objects.for_municipality(request.municipality)
        .open_now()
        .values_list("category", "life_events")
    )
    categories = []
    for value, label in Category.choices:
        count = sum(1 for category, _events in procedures if category == value)
        categories.append({"value": value, "label": label, "count": count})
    life_events = []
    for value, label in LifeEvent.choices:
        count = sum(1 for _category, events in procedures if value in (events or []))
        life_events.append({"value": value, "label": label, "count": count})
    return render(
        request,
        "portal/municipality_home.html",
        {
            "procedure_count": len(procedures),
            "categories": categories,
            "life_events": life_events,
        },
    )


@require_GET
@with_municipality
def procedure_list(request):
    query = request.GET.get("q", "").strip()[:100]
    category = request.GET.get("category", "")
    life_event = request.GET.get("life_event", "")
    category_label = dict(Category.choices).get(category)
    life_event_label = dict(LifeEvent.choices).get(life_event)
    procedures = _open_procedures(request.municipality)
    if category_label:
        procedures = [p for p in procedures if p.category == category]
    if life_event_label:
        procedures = [p for p in procedures if life_event in (p.life_events or [])]
    results = procedure_search.search(procedures, query)
    if _content_language() and query:
        # A resident may search in their language too (translated names and summaries).
        found = {p.pk for p in results}
        more = procedure_search.search(_local_procedures(procedures), query)
        results += [p.original for p in more if p.pk not in found]
    results = _local_procedures(results)
    return render(
        request,
        "portal/procedure_list.html",
        {
            "query": query,
            "category": category if category_label else "",
            "category_label": category_label,
            "life_event": life_event if life_event_label else "",
            "life_event_label": life_event_label,
            "results": results,
            "categories": Category.choices,
            "life_events": LifeEvent.choices,
        },
    )


def _get_procedure(municipality, slug) -> Procedure:
    try:
        procedure = (
            Procedure.objects.for_municipality(municipality)
            .filter(is_published=True)
            .select_related("current_version")
            .get(slug=slug)
        )
    except Procedure.DoesNotExist as exc:
        raise Http404("procedure") from exc
    procedure.municipality = municipality  # the row the request holds (not read again)
    return procedure


@require_GET
@with_municipality
def procedure_detail(request, slug):
    procedure = _get_procedure(request.municipality, slug)
    today = timezone.localdate()
    is_open = procedure.is_open(today)
    not_yet = bool(procedure.open_from and today < procedure.open_from)
    procedure = _local_procedure(procedure)
    return render(
        request,
        "portal/procedure_detail.html",
        {
            "procedure": procedure,
            "is_open": is_open,
            "not_yet_open": not_yet,
            "open_from": format_date(procedure.open_from, "both") if procedure.open_from else "",
            "open_until": format_date(procedure.open_until, "both") if procedure.open_until else "",
            "description": _paragraphs(procedure.description),
            "eligibility": _paragraphs(procedure.eligibility),
            "what_you_need": _paragraphs(procedure.what_you_need),
            "identity_explanation": IDENTITY_EXPLANATIONS.get(procedure.identity_level, ""),
            "departments": list(procedure.departments.all()),
            "category_label": dict(Category.choices).get(procedure.category, ""),
        },
    )


@require_http_methods(["GET", "POST"])
@with_municipality
def start_application(request, slug):
    """「申請をはじめる」. Procedures at identity level "email" first ask for an address and
    send the link to the form there; opening it proves the address (see `resume`)."""
    procedure = _get_procedure(request.municipality, slug)
    if not procedure.is_open():
        return redirect("portal:procedure_detail", request.municipality.lg_code, procedure.slug)
    if procedure.identity_level == IdentityLevel.EMAIL:
        return _start_with_email_check(request, procedure)
    if request.method != "POST":
        return redirect("portal:procedure_detail", request.municipality.lg_code, procedure.slug)
    try:
        application, token = services.start_draft(procedure)
    except services.ApplicationStateError as exc:
        return _state_error(request, exc.message)
    form, steps = _visible_steps(application)
    return redirect(_step_url(request, token, steps[0].key))


def _clean_email(value: str) -> tuple[str, str]:
    """(address, error message) for an e-mail address typed on a portal page."""
    email = value.strip()
    if not email:
        return email, _("メールアドレスを入力してください。")
    try:
        validate_email(email)
    except ValidationError:
        return email, _("メールアドレスを正しく入力してください（例：taro@example.jp）。")
    return email, ""


def _mail_allowed(request, email: str) -> bool:
    """Whether one more mail (address check, resume link) may be sent to `email` at this
    client's request: per address and per client address, per hour, in the shared cache."""
    return ratelimit.fits_all(
        [
            ("mail-to", email.strip().lower(), settings.MAIL_LIMIT_PER_ADDRESS, 3600, 1),
            ("mail-from", client_address(request) or "-", settings.MAIL_LIMIT_PER_CLIENT, 3600, 1),
        ]
    )


def _mail_limit_message() -> str:
    return _(
        "短い時間にメールの送信が続いたため、いまはメールを送れません。"
        "1時間ほどたってから、もう一度お試しください。入力した内容は保存されています。"
    )


def _start_with_email_check(request, procedure):
    email = error = ""
    status = 200
    if request.method == "POST" and "email" in request.POST:
        email, error = _clean_email(request.POST["email"])
        if not error and not _mail_allowed(request, email):
            error, status = _mail_limit_message(), 429
        if not error:
            try:
                services.start_draft_with_email_check(procedure, email, base_url=_base_url())
            except services.ApplicationStateError as exc:
                return _state_error(request, exc.message)
            return _with_note(
                redirect("portal:email_check_sent", request.municipality.lg_code),
                {"email": email, "procedure": procedure.name},
            )
    return render(
        request,
        "portal/start_email.html",
        {"procedure": _local_procedure(procedure), "email": email, "error": error},
        status=status,
    )


# What a "sent" page says (the address the mail went to, the procedure) comes from the
# page before in a cookie meant for that page alone: an anonymous resident gets no server
# session, which every later request of theirs would have read from the database. The
# cookie is signed (for this purpose, 10 minutes) and encrypted (core.encrypted): the
# address is personal data, not to be read off a shared device's cookie store.
NOTE_COOKIE = "madoguchi_portal_note"
NOTE_SALT = "madoguchi.portal.note"
NOTE_SECONDS = 600


def _with_note(response, note: dict):
    """`response` (a redirect to a "sent" page) carrying `note` to that page only."""
    response.set_cookie(
        NOTE_COOKIE,
        encrypted.encrypt(signing.dumps(note, salt=NOTE_SALT, compress=True)),
        max_age=NOTE_SECONDS,
        path=response["Location"],
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _render_with_note(request, template: str):
    """A "sent" page with the note the page before left for it (read once)."""
    try:
        signed = encrypted.decrypt(request.COOKIES.get(NOTE_COOKIE, ""))
        note = signing.loads(signed, salt=NOTE_SALT, max_age=NOTE_SECONDS)
    except (signing.BadSignature, ImproperlyConfigured):  # altered, old or other keys
        note = None
    response = render(request, template, {"sent": note if isinstance(note, dict) else None})
    if NOTE_COOKIE in request.COOKIES:
        response.delete_cookie(NOTE_COOKIE, path=request.path, samesite="Lax")
    return response


@never_cache
@require_GET
@with_municipality
def email_check_sent(request):
    return _render_with_note(request, "portal/email_check_sent.html")


# ----------------------------------------------------------------------------- applying


@never_cache
@require_GET
@with_municipality
def resume(request, token):
    """The link in the save-and-resume e-mail: continue where the resident stopped. For an
    application returned for correction (要再申請; reached with its status token), the
    confirmation page: every answer, each section with its 「修正する」 link."""
    application = services.find_editable(request.municipality, token)
    if application is None:
        return _expired(request)
    if services.is_correction(application):
        return redirect(_confirm_url(request, token))
    if services.confirm_email(application):
        messages.success(request, _("メールアドレスを確認しました。申請の入力を始めてください。"))
    form, steps = _visible_steps(application)
    keys = [step.key for step in steps]
    if application.current_step in keys:
        return redirect(_step_url(request, token, application.current_step))
    return redirect(_step_url(request, token, keys[0]))


@never_cache
@require_http_methods(["GET", "POST"])
@with_municipality
def step(request, token, step_key):
    application = services.find_editable(request.municipality, token)
    if application is None:
        return _expired(request)
    position = _local_position(application, form_flow.locate_step(application, step_key))
    if not position.found:
        # A step hidden by earlier answers, or not in this form version.
        return redirect(_step_url(request, token, position.first_key))
    return_to_confirm = (request.POST if request.method == "POST" else request.GET).get(
        "return"
    ) == "confirm"

    if request.method != "POST":
        raw, errors = form_flow.step_get_state(
            application, position, check=request.GET.get("check") == "1"
        )
        return _render_step(request, token, application, position, raw, errors, return_to_confirm)

    outcome = form_flow.handle_step_post(application, position, request)
    if outcome.kind == form_flow.BACK:
        if outcome.step_key is not None:
            return redirect(_step_url(request, token, outcome.step_key))
        if services.is_correction(application):
            return redirect(_status_url(request, token))
        return redirect(
            "portal:procedure_detail",
            request.municipality.lg_code,
            application.procedure.slug,
        )
    if outcome.kind == form_flow.SAVE:
        if services.is_correction(application):
            # The status link reaches the correction again: no resume link is needed.
            messages.success(
                request,
                _(
                    "修正中の内容を保存しました。続きは、このページの"
                    "「内容を修正して再申請する」から行えます。"
                ),
            )
            return redirect(_status_url(request, token))
        return redirect("portal:save", request.municipality.lg_code, token)
    if outcome.kind == form_flow.ACTION_DONE:
        query = {"return": "confirm"} if return_to_confirm else {}
        return redirect(_step_url(request, token, position.current.key, **query))
    if outcome.kind == form_flow.CONFIRM:
        return redirect(_confirm_url(request, token))
    if outcome.kind == form_flow.NEXT:
        return redirect(_step_url(request, token, outcome.step_key))
    # ACTION_ERROR, INVALID: the step again, with what was typed and the errors.
    return _render_step(
        request, token, application, position, outcome.raw, outcome.errors, return_to_confirm
    )


def _render_step(request, token, application, position, raw, errors, return_to_confirm):
    form, steps, index, current = position.form, position.steps, position.index, position.current
    step_key = current.key
    fields_html = _engine.rendering.render_step(
        form,
        step_key,
        raw,
        errors,
        {
            "answers": _answers(application),
            "known_files": form_flow.known_files(application, current),
            "postal_url": _postal_base(request),
        },
    )
    return render(
        request,
        "portal/step.html",
        {
            "application": application,
            "procedure": _local_procedure(application.procedure),
            "form": form,
            "step": current,
            "step_index": index,
            "is_first": position.is_first,
            "is_last": position.is_last,
            "fields_html": fields_html,
            "errors": errors,
            "progress": _progress(request, token, application, steps, step_key),
            "token": token,
            "return_to_confirm": return_to_confirm,
            "postal_base": _postal_base(request),
            **_correction_context(application),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@with_municipality
def save_for_later(request, token):
    application = services.find_editable(request.municipality, token)
    if application is None:
        return _expired(request)
    if services.is_correction(application):
        return redirect(_status_url(request, token))
    error = ""
    email = ""
    status = 200
    if request.method == "POST":
        email, error = _clean_email(request.POST.get("email", ""))
        if not error and not _mail_allowed(request, email):
            error, status = _mail_limit_message(), 429
        if not error:
            try:
                services.send_resume_link(application, email, base_url=_base_url())
            except services.ApplicationStateError as exc:
                return _state_error(request, exc.message)
            return _with_note(
                redirect("portal:resume_link_sent", request.municipality.lg_code),
                {"email": email, "procedure": application.procedure.name},
            )
    else:
        email = application.verified_email
        form = application.form_version.form
        for field in form.all_fields() if not email else ():
            if field.type == "email" and isinstance(application.answers.get(field.key), str):
                email = application.answers[field.key]
                break
    back_step = application.current_step or ""
    form, steps = _visible_steps(application)
    if back_step not in [s.key for s in steps]:
        back_step = steps[0].key
    return render(
        request,
        "portal/save.html",
        {
            "application": application,
            "procedure": _local_procedure(application.procedure),
            "email": email,
            "error": error,
            "back_url": _step_url(request, token, back_step),
        },
        status=status,
    )


@never_cache
@require_GET
@with_municipality
def resume_link_sent(request):
    return _render_with_note(request, "portal/resume_link_sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
@with_municipality
def confirm(request, token):
    application = services.find_editable(request.municipality, token)
    if application is None:
        return _expired(request)
    correcting = services.is_correction(application)

    rating_value = ""
    comment = ""
    if request.method == "POST":
        rating_value = request.POST.get("rating", "")
        comment = request.POST.get("comment", "").strip()[:2000]
        rating = int(rating_value) if rating_value in {"1", "2", "3", "4", "5"} else None
        try:
            if correcting:
                services.resubmit(application, base_url=_base_url(), status_token=token)
            else:
                status_token = services.submit(application, base_url=_base_url())
        except services.IncompleteApplication as exc:
            # The lifecycle refuses what the form refuses: the first step to correct, with
            # its errors shown.
            messages.error(request, exc.message)
            return redirect(_step_url(request, token, exc.step_key, check="1"))
        except services.ApplicationStateError as exc:
            return _state_error(request, exc.message)
        if correcting:
            return redirect("portal:receipt", request.municipality.lg_code, token)
        # (The form's feedback switch is the same in every language.)
        if application.form_version.form.feedback and (rating is not None or comment):
            services.record_feedback(application, rating=rating, comment=comment)
        return redirect("portal:receipt", request.municipality.lg_code, status_token)

    problem = services.incomplete(application)
    if problem is not None:
        # Not everything filled in yet (e.g. a step became visible): continue there.
        return redirect(_step_url(request, token, problem.step_key))
    answers = _answers(application)
    form, steps = _local_steps(application, *_visible_steps(application))
    sections = [
        {
            "title": section.title,
            "rows": section.rows,
            "edit_url": _step_url(request, token, section.step_key, **{"return": "confirm"}),
        }
        for section in review_sections(form, answers)
    ]
    return render(
        request,
        "portal/confirm.html",
        {
            "application": application,
            "procedure": _local_procedure(application.procedure),
            "form": form,
            "sections": sections,
            "progress": _progress(request, token, application, steps, None),
            "token": token,
            "feedback_choices": FEEDBACK_CHOICES,
            "rating_value": rating_value,
            "comment": comment,
            "back_url": _step_url(request, token, steps[-1].key),
            "status_url": _status_url(request, token) if correcting else "",
            **_correction_context(application),
        },
    )


# ----------------------------------------------------------------------------- after submit


def _submitted(request, token):
    return services.find_by_status_token(request.municipality, token)


def _received_text(application) -> str:
    received = timezone.localtime(application.submitted_at)
    return f"{format_date(received.date(), 'both')} {received:%H:%M}"


@never_cache
@require_GET
@with_municipality
def receipt(request, token):
    application = _submitted(request, token)
    if application is None:
        return _expired(request, kind="status")
    resubmitted_text = ""
    if application.resubmitted_at:
        when = timezone.localtime(application.resubmitted_at)
        resubmitted_text = f"{format_date(when.date(), 'both')} {when:%H:%M}"
    return render(
        request,
        "portal/receipt.html",
        {
            "application": application,
            "procedure": _local_procedure(application.procedure),
            "received_text": _received_text(application),
            "resubmitted_text": resubmitted_text,
            "token": token,
            "departments": list(application.procedure.departments.all()),
        },
    )


@never_cache
@require_GET
@with_municipality
def status(request, token):
    application = _submitted(request, token)
    if application is None:
        return _expired(request, kind="status")
    form = _local_form(application)
    return render(
        request,
        "portal/status.html",
        {
            "application": application,
            "procedure": _local_procedure(application.procedure),
            "received_text": _received_text(application),
            "history": services.status_history(application),
            "sections": review_sections(form, application.answers),
            "token": token,
            "departments": list(application.procedure.departments.all()),
            "correction_url": _confirm_url(request, token),
            **_correction_context(application),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@with_municipality
def withdraw(request, token):
    application = _submitted(request, token)
    if application is None:
        return _expired(request, kind="status")
    status_url = reverse("portal:status", args=[request.municipality.lg_code, token])
    if not application.can_withdraw:
        message = _("この申請は「%(status)s」のため、取り下げできません。") % {
            "status": application.get_status_display()
        }
        return render(
            request,
            "portal/withdraw.html",
            {"application": application, "not_allowed": message, "status_url": status_url},
            status=409 if request.method == "POST" else 200,
        )
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()[:2000]
        try:
            services.withdraw(application, reason=reason)
        except services.ApplicationStateError as exc:
            return _state_error(request, exc.message, application=application)
        messages.success(request, _("申請を取り下げました。"))
        return redirect(status_url)
    return render(
        request,
        "portal/withdraw.html",
        {
            "application": application,
            "procedure": _local_procedure(application.procedure),
            "status_url": status_url,
        },
    )


@never_cache
@require_GET
@with_municipality
def receipt_pdf(request, token):
    application = _submitted(request, token)
    if application is None:
        return _expired(request, kind="status")
    status_url = (
        f"{_base_url()}{reverse('portal:status', args=[request.municipality.lg_code, token])}"
    )
    pdf = build_receipt_pdf(application, status_url=status_url)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{application.receipt_number}.pdf"'
    return response


@require_GET
@with_municipality
def postal_lookup(request, code):
    # The messages are those the step gives when it is sent with the same code.
    try:
        code7 = check_postal_code(code)
    except JpValueError as exc:
        status = 404 if exc.code == POSTAL_UNKNOWN else 400
        return JsonResponse({"address": None, "error": exc.message}, status=status)
    return JsonResponse({"postal_code": code7, "address": lookup_address(code7)})
