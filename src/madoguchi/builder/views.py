"""様式作成: the procedure editor, the form builder, the preview and publishing.

Every screen is a server-rendered page whose buttons are ordinary POST forms (it works without
JavaScript); htmx and SortableJS add partial updates and drag and drop on top. A change to the
form is checked with `parse_form` — the validator of the standard-template loader, same
messages — and a change it refuses is not saved.
"""

from __future__ import annotations

import copy
import hashlib

import yaml
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from madoguchi.catalog.loader import TemplateError, _jsonable, _StrictLoader, check_procedure
from madoguchi.catalog.models import Category, FormVersion, Procedure
from madoguchi.formengine import rendering, validation
from madoguchi.formengine.display import review_sections
from madoguchi.formengine.schema import FormSchema, SchemaError, parse_form

from . import schema_edit
from .access import (
    builder_municipalities,
    builder_required,
    editable_procedures,
    get_municipality,
    get_procedure,
    own_departments,
)
from .field_forms import FieldSettingsForm, rename_references
from .impact import impact_warnings
from .models import FormCopy, SharedForm
from .procedure_forms import ProcedureForm

try:  # django-csp 4: per-view policy changes
    from csp.decorators import csp_replace
except ImportError:  # pragma: no cover - django-csp is a dependency
    csp_replace = None


def _frameable(view):
    """The preview may be shown in a frame of the builder page (same origin only)."""
    view = xframe_options_sameorigin(view)
    if csp_replace is not None:
        view = csp_replace({"frame-ancestors": ["'self'"]})(view)
    return view


# ---------------------------------------------------------------------------------------------
# Procedures


@builder_required
def procedure_list(request):
    municipalities = builder_municipalities(request.user)
    procedures = list(
        editable_procedures(request.user)
        .select_related("municipality", "current_version")
        .order_by("municipality__lg_code", "category", "reading")
    )
    drafts = set(
        FormVersion.objects.filter(
            procedure__in=[p.pk for p in procedures], status=FormVersion.Status.DRAFT
        ).values_list("procedure_id", flat=True)
    )
    copies = {c.procedure_id: c for c in FormCopy.objects.filter(procedure__in=procedures)}
    from .library import pending_update

    for p in procedures:
        p.has_draft = p.pk in drafts
        copy = copies.get(p.pk)
        p.has_update = bool(copy and pending_update(copy))
    groups = [(m, [p for p in procedures if p.municipality_id == m.pk]) for m in municipalities]
    return render(request, "builder/procedure_list.html", {"groups": groups})


def _procedure_form(request, municipality, instance=None):
    return ProcedureForm(
        request.POST or None,
        instance=instance,
        municipality=municipality,
        own_departments=own_departments(request.user, municipality),
    )


@builder_required
def procedure_new(request):
    municipality = get_municipality(request.user, request.POST.get("m") or request.GET.get("m"))
    form = _procedure_form(request, municipality)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            procedure = form.save()
            FormVersion.objects.create(
                procedure=procedure, number=1, schema=schema_edit.starter_form(procedure.name)
            )
        messages.success(
            request,
            _("手続「%(name)s」を作成しました。申請フォームを作りましょう。")
            % {"name": procedure.name},
        )
        return redirect("builder:form_edit", procedure.pk)
    return render(
        request,
        "builder/procedure_edit.html",
        {"form": form, "municipality": municipality, "procedure": None},
    )


@builder_required
def procedure_edit(request, pk):
    procedure = get_procedure(request.user, pk)
    form = _procedure_form(request, procedure.municipality, procedure)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("手続の情報を保存しました。"))
        return redirect("builder:procedure_edit", procedure.pk)
    return render(
        request,
        "builder/procedure_edit.html",
        {"form": form, "municipality": procedure.municipality, "procedure": procedure},
    )


@builder_required
def procedure_preview(request, pk):
    """The resident's procedure page, rendered with the portal's own template."""
    from madoguchi.jp.wareki import format_date
    from madoguchi.portal.views import IDENTITY_EXPLANATIONS, _paragraphs

    procedure = get_procedure(request.user, pk)
    today = timezone.localdate()
    return render(
        request,
        "portal/procedure_detail.html",
        {
            "municipality": procedure.municipality,
            "procedure": procedure,
            "is_open": procedure.is_open(today),
            "not_yet_open": bool(procedure.open_from and today < procedure.open_from),
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


# ---------------------------------------------------------------------------------------------
# The draft form


def get_draft(procedure: Procedure) -> FormVersion | None:
    return (
        FormVersion.objects.filter(procedure=procedure, status=FormVersion.Status.DRAFT)
        .order_by("-number")
        .first()
    )


def _source(procedure: Procedure) -> str:
    return procedure.name


def check(procedure: Procedure, schema: dict) -> FormSchema:
    """The loader's validator on a definition; raises SchemaError."""
    return parse_form(schema, source=_source(procedure))


def _save_schema(request, draft: FormVersion, schema: dict) -> bool:
    """Check and save; False (with the validator's message shown) when refused."""
    try:
        parsed = check(draft.procedure, schema)
    except SchemaError as exc:
        messages.error(request, _("変更できません。%(problem)s") % {"problem": exc})
        return False
    draft.schema = schema
    draft.save(update_fields=["schema"])
    draft._parsed_form = parsed
    return True


def _need_draft(request, pk) -> tuple[Procedure, FormVersion]:
    procedure = get_procedure(request.user, pk)
    draft = get_draft(procedure)
    if draft is None:
        raise Http404("no draft")
    draft.procedure = procedure
    return procedure, draft


def _builder_url(procedure, anchor: str = "") -> str:
    url = reverse("builder:form_edit", args=[procedure.pk])
    return f"{url}#{anchor}" if anchor else url


@builder_required
def form_edit(request, pk):
    procedure = get_procedure(request.user, pk)
    draft = get_draft(procedure)
    if request.method == "POST" and request.POST.get("action") == "new_draft" and draft is None:
        if procedure.current_version is None:
            schema = schema_edit.starter_form(procedure.name)
            draft = FormVersion.new_draft(procedure, schema)
        else:
            draft = FormVersion.new_draft(procedure)
        messages.success(
            request,
            _("公開中の様式をもとに、下書きの第%(number)s版を作りました。")
            % {"number": draft.number},
        )
        return redirect("builder:form_edit", procedure.pk)
    context = {
        "procedure": procedure,
        "draft": draft,
        "type_choices": {t: _(label) for t, label in schema_edit.TYPE_LABELS.items()},
        "translations_url": _translations_url(procedure),
        "copy": FormCopy.objects.filter(procedure=procedure).first(),
        "shared": SharedForm.objects.filter(procedure=procedure).exists(),
    }
    if context["copy"] is not None:
        from .library import pending_update

        context["update"] = pending_update(context["copy"])
    if draft is not None:
        draft.procedure = procedure
        try:
            form = check(procedure, draft.schema)
        except SchemaError as exc:
            form = None
            context["schema_error"] = str(exc)
        context["form"] = form
        if form is not None:
            context["tree"] = _tree(form)
        published = procedure.current_version
        context["diff"] = schema_edit.diff(published.schema if published else None, draft.schema)
    return render(request, "builder/form_edit.html", context)


def _translations_url(procedure) -> str:
    """The translation page of the procedure, where the deployment has it."""
    try:
        return reverse("translations:procedure", args=[procedure.pk])
    except NoReverseMatch:
        return ""


def _tree(form: FormSchema) -> list[dict]:
    """Steps and fields with what the builder page shows about each."""

    def describe(f):
        return {
            "field": f,
            "type_label": _(schema_edit.TYPE_LABELS.get(f.type, f.type)),
            "shown_when": schema_edit.shown_when(form, f.visible_if, _),
            "required_when": schema_edit.required_when(form, f.required_if, _),
            "children": [describe(c) for c in f.fields],
        }

    return [{"step": s, "fields": [describe(f) for f in s.fields]} for s in form.steps]


@builder_required
@require_POST
def form_op(request, pk):
    """The builder's buttons: add, move, duplicate, delete, reorder (drag and drop)."""
    procedure, draft = _need_draft(request, pk)
    action = request.POST.get("action", "")
    key = request.POST.get("key", "")
    schema = draft.schema
    anchor = key
    try:
        if action == "add_field":
            ftype = request.POST.get("type", "")
            if ftype not in schema_edit.TYPE_LABELS:
                messages.error(request, _("追加する項目の種類を選んでください。"))
                return HttpResponseRedirect(_builder_url(procedure))
            schema, anchor = schema_edit.add_field(
                schema,
                request.POST.get("step", ""),
                ftype,
                parent=request.POST.get("parent") or None,
            )
            if _save_schema(request, draft, schema):
                return redirect("builder:field_edit", procedure.pk, anchor)
            return HttpResponseRedirect(_builder_url(procedure))
        if action == "add_step":
            schema, anchor = schema_edit.add_step(schema)
        elif action in ("up", "down"):
            schema = schema_edit.move(schema, key, -1 if action == "up" else 1)
        elif action == "duplicate":
            schema, anchor = schema_edit.duplicate(schema, key)
        elif action == "delete":
            schema = schema_edit.delete(schema, key)
            anchor = ""
        elif action == "reorder":
            schema = schema_edit.reorder(
                schema, request.POST.get("container", ""), request.POST.getlist("order")
            )
        else:
            raise Http404("unknown action")
    except KeyError:
        messages.error(request, _("対象の項目が見つかりません。画面を読み込み直してください。"))
        return HttpResponseRedirect(_builder_url(procedure))
    except ValueError:
        messages.error(
            request, _("並べ替えの内容が画面と一致しません。画面を読み込み直してください。")
        )
        return HttpResponseRedirect(_builder_url(procedure))
    if _save_schema(request, draft, schema) and action in (
        "up",
        "down",
        "duplicate",
        "delete",
        "add_step",
    ):
        messages.success(request, _(_OP_DONE[action]))
    return HttpResponseRedirect(_builder_url(procedure, f"item-{anchor}" if anchor else ""))


_OP_DONE = {
    "up": gettext_noop("上へ移動しました。"),
    "down": gettext_noop("下へ移動しました。"),
    "duplicate": gettext_noop("複製しました。"),
    "delete": gettext_noop("削除しました。"),
    "add_step": gettext_noop("ステップを追加しました。"),
}


@builder_required
def field_edit(request, pk, key):
    procedure, draft = _need_draft(request, pk)
    form_schema = check(procedure, draft.schema)
    found = schema_edit.find_field(draft.schema, key)
    if found is None:
        raise Http404("no such field")
    data_field, place = found
    settings_form = FieldSettingsForm(request.POST or None, data_field=data_field, form=form_schema)
    problem = ""
    if request.method == "POST" and settings_form.is_valid():
        new = settings_form.definition()
        if settings_form.is_valid():  # the condition rows may have added errors
            schema = schema_edit.replace_field(draft.schema, key, new)
            if new["key"] != key:
                rename_references(schema, key, new["key"])
            try:
                parsed = check(procedure, schema)
            except SchemaError as exc:
                problem = exc.problem if exc.field in (key, new["key"]) else str(exc)
            else:
                draft.schema = schema
                draft.save(update_fields=["schema"])
                draft._parsed_form = parsed
                messages.success(
                    request, _("項目「%(label)s」を保存しました。") % {"label": new["label"]}
                )
                return HttpResponseRedirect(_builder_url(procedure, f"item-{new['key']}"))
    me = form_schema.field(key)
    return render(
        request,
        "builder/field_edit.html",
        {
            "procedure": procedure,
            "draft": draft,
            "settings_form": settings_form,
            "data_field": data_field,
            "type_label": _(schema_edit.TYPE_LABELS[data_field["type"]]),
            "problem": problem,
            "step_key": place.step_key,
            "shown_when": schema_edit.shown_when(form_schema, me.visible_if if me else None, _),
            "required_when": schema_edit.required_when(
                form_schema, me.required_if if me else None, _
            ),
            "kept_conditions": settings_form.kept_conditions,
        },
    )


@builder_required
def step_edit(request, pk, key):
    procedure, draft = _need_draft(request, pk)
    found = schema_edit.find_step(draft.schema, key)
    if found is None:
        raise Http404("no such step")
    step, _index = found
    values = {"title": step.get("title", ""), "intro": step.get("intro", ""), "key": key}
    problem = ""
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in ("title", "intro", "key")}
        new_key = values.pop("key") or key
        schema = schema_edit.replace_step(draft.schema, key, {**values, "key": new_key})
        try:
            check(procedure, schema)
        except SchemaError as exc:
            problem = exc.problem
            values["key"] = new_key
        else:
            draft.schema = schema
            draft.save(update_fields=["schema"])
            messages.success(
                request, _("ステップ「%(title)s」を保存しました。") % {"title": values["title"]}
            )
            return HttpResponseRedirect(_builder_url(procedure, f"item-{new_key}"))
    return render(
        request,
        "builder/step_edit.html",
        {"procedure": procedure, "draft": draft, "values": values, "problem": problem, "key": key},
    )


@builder_required
def form_settings(request, pk):
    procedure, draft = _need_draft(request, pk)
    schema = draft.schema
    values = {
        "title": schema.get("title", ""),
        "intro": schema.get("intro", ""),
        "feedback": bool(schema.get("feedback")),
    }
    problem = ""
    if request.method == "POST":
        values = {
            "title": request.POST.get("title", "").strip(),
            "intro": request.POST.get("intro", "").strip(),
            "feedback": request.POST.get("feedback") == "1",
        }
        new = copy.deepcopy(schema)
        new["title"] = values["title"]
        for name in ("intro", "feedback"):
            if values[name]:
                new[name] = values[name]
            else:
                new.pop(name, None)
        try:
            check(procedure, new)
        except SchemaError as exc:
            problem = exc.problem
        else:
            draft.schema = new
            draft.save(update_fields=["schema"])
            messages.success(request, _("様式の設定を保存しました。"))
            return HttpResponseRedirect(_builder_url(procedure))
    return render(
        request,
        "builder/form_settings.html",
        {"procedure": procedure, "draft": draft, "values": values, "problem": problem},
    )


# ---------------------------------------------------------------------------------------------
# Preview and "try it"


def _try_key(draft) -> str:
    return f"madoguchi_builder_try_{draft.pk}"


def _preview_store(field, upload, detected):
    """Files given in the preview are checked like a resident's but never stored."""
    return {
        "attachment": "preview-" + detected.sha256[:16],
        "name": detected.name,
        "content_type": detected.content_type,
        "size": detected.size,
        "sha256": detected.sha256,
    }


@_frameable
@builder_required
def form_preview(request, pk, step_key=None):
    """The draft exactly as a resident sees it (the portal's step template), with its
    validation; answers are kept in the session so staff can go through every step."""
    procedure, draft = _need_draft(request, pk)
    form = check(procedure, draft.schema)
    answers = request.session.get(_try_key(draft), {})
    if request.GET.get("restart") == "1":
        answers = {}
        request.session[_try_key(draft)] = answers
    steps = validation.visible_steps(form, answers) or form.steps[:1]
    keys = [s.key for s in steps]
    if step_key is None or step_key not in keys:
        step_key = keys[0]
    index = keys.index(step_key)
    step = steps[index]
    errors = []
    raw = validation.raw_from_answers(form, step_key, answers)
    if request.method == "POST":
        raw = validation.collect_raw(step, request.POST)
        action = request.POST.get("_action", "next")
        if action == "back":
            target = keys[index - 1] if index > 0 else step_key
            return redirect("builder:form_preview_step", procedure.pk, target)
        if action.startswith(("add:", "remove:", "postal:")):
            raw, action_error = validation.apply_action_with_message(form, step_key, raw, action)
            errors = [action_error] if action_error else []
        elif action in ("next", "save"):
            uploads = {name: request.FILES.getlist(name) for name in request.FILES}
            result = validation.validate_step(form, step_key, raw, answers, uploads, _preview_store)
            raw = result.raw or raw
            errors = list(result.errors)
            if result.ok:
                answers = {
                    k: v for k, v in answers.items() if k not in {f.key for f in step.fields}
                }
                answers.update(result.answers)
                request.session[_try_key(draft)] = answers
                new_keys = [s.key for s in validation.visible_steps(form, answers)]
                if step_key in new_keys and new_keys.index(step_key) < len(new_keys) - 1:
                    return redirect(
                        "builder:form_preview_step",
                        procedure.pk,
                        new_keys[new_keys.index(step_key) + 1],
                    )
                return redirect("builder:form_try_result", procedure.pk)
    fields_html = rendering.render_step(form, step_key, raw, errors, {"answers": answers})
    progress_items = [
        {
            "number": i + 1,
            "title": s.title,
            "current": s.key == step_key,
            "done": i < index,
            "url": "",
        }
        for i, s in enumerate(steps)
    ]
    progress_items.append(
        {
            "number": len(steps) + 1,
            "title": _("入力内容の確認"),
            "current": False,
            "done": False,
            "url": "",
        }
    )
    return render(
        request,
        "portal/step.html",
        {
            "municipality": procedure.municipality,
            "procedure": procedure,
            "form": form,
            "step": step,
            "is_first": index == 0,
            "is_last": index == len(steps) - 1,
            "fields_html": fields_html,
            "errors": errors,
            "progress": {
                "number": index + 1,
                "total": len(steps) + 1,
                "percent": int(100 * (index + 1) / (len(steps) + 1)) // 5 * 5,
                "items": progress_items,
            },
            "postal_base": reverse(
                "portal:postal", args=[procedure.municipality.lg_code, "0000000"]
            ).removesuffix("0000000/"),
        },
    )


@builder_required
def form_try_result(request, pk):
    """What staff would receive for the answers given in the preview."""
    procedure, draft = _need_draft(request, pk)
    form = check(procedure, draft.schema)
    answers = request.session.get(_try_key(draft), {})
    errors = validation.validate_all(form, answers) if answers else []
    return render(
        request,
        "builder/try_result.html",
        {
            "procedure": procedure,
            "draft": draft,
            "sections": review_sections(form, answers),
            "errors": errors,
            "answered": bool(answers),
        },
    )


# ---------------------------------------------------------------------------------------------
# Publishing


@builder_required
def form_publish(request, pk):
    procedure = get_procedure(request.user, pk)
    draft = get_draft(procedure)
    if draft is None:
        messages.info(request, _("公開する下書きがありません。"))
        return redirect("builder:form_edit", procedure.pk)
    draft.procedure = procedure
    published = procedure.current_version
    difference = schema_edit.diff(published.schema if published else None, draft.schema)
    warnings = impact_warnings(procedure, published, difference)
    if request.method == "POST":
        try:
            draft.publish(request.user)
        except SchemaError as exc:
            messages.error(request, _("公開できません。%(problem)s") % {"problem": exc})
            return redirect("builder:form_edit", procedure.pk)
        messages.success(
            request,
            _("第%(number)s版を公開しました。これから始まる申請はこの版で受け付けます。")
            % {"number": draft.number},
        )
        return redirect("builder:form_edit", procedure.pk)
    return render(
        request,
        "builder/publish.html",
        {
            "procedure": procedure,
            "draft": draft,
            "published": published,
            "diff": difference,
            "warnings": warnings,
        },
    )


# ---------------------------------------------------------------------------------------------
# YAML


def template_document(procedure: Procedure, schema: dict) -> dict:
    """The procedure and a form definition as a standard template (docs/form-schema.md)."""
    block = {
        "name": procedure.name,
        "reading": procedure.reading,
        "category": procedure.category,
    }
    if procedure.life_events:
        block["life_events"] = list(procedure.life_events)
    for name in (
        "keywords",
        "summary",
        "description",
        "eligibility",
        "what_you_need",
        "duration",
        "processing_time",
        "fee",
    ):
        value = getattr(procedure, name)
        if value:
            block[name] = value
    block["identity_level"] = procedure.identity_level
    if procedure.allows_proxy:
        block["allows_proxy"] = True
    block["departments"] = [d.code for d in procedure.departments.order_by("code")]
    if procedure.required_attachments:
        block["required_attachments"] = list(procedure.required_attachments)
    block["retention_years"] = procedure.retention_years
    if procedure.target_days:
        block["target_days"] = procedure.target_days
    key = procedure.template_key or procedure.slug.replace("-", "_")
    return {"key": key, "procedure": block, "form": schema}


def dump_yaml(document: dict) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


@builder_required
def form_export(request, pk):
    procedure = get_procedure(request.user, pk)
    version = get_draft(procedure) if request.GET.get("v") != "published" else None
    version = version or procedure.current_version
    if version is None:
        raise Http404("nothing to export")
    document = template_document(procedure, version.schema)
    response = HttpResponse(dump_yaml(document), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{document["key"]}.yaml"'
    return response


def read_template_text(text: str, source: str, known_departments: set[str]) -> dict:
    """A standard template read from text with the loader's rules; raises TemplateError."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}行目" if mark is not None else "位置不明"
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateError(
            source, None, f"YAML の書き方が正しくありません（{where}: {problem}）。"
        ) from exc
    if not isinstance(data, dict) or "form" not in data:
        raise TemplateError(source, None, "申請フォームの定義（form）がありません。")
    form = _jsonable(data["form"], source, "申請フォームの定義（form）")
    try:
        parse_form(form, source=source)
    except SchemaError as exc:
        raise TemplateError.from_schema_error(source, exc) from exc
    if "procedure" in data:
        check_procedure(source, data["procedure"], known_departments)
    return {"key": data.get("key"), "procedure": data.get("procedure"), "form": form}


@builder_required
@require_POST
def form_import(request, pk):
    """Replace the draft's form with the `form` block of an uploaded template file."""
    procedure = get_procedure(request.user, pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("読み込むファイルを選んでください。"))
        return redirect("builder:form_edit", procedure.pk)
    if upload.size > 2 * 1024 * 1024:
        messages.error(request, _("ファイルが大きすぎます（%(limit)sまで）。") % {"limit": "2MB"})
        return redirect("builder:form_edit", procedure.pk)
    try:
        text = upload.read().decode("utf-8")
    except UnicodeDecodeError:
        messages.error(request, _("ファイルは UTF-8 の YAML にしてください。"))
        return redirect("builder:form_edit", procedure.pk)
    known = set(procedure.municipality.departments.values_list("code", flat=True))
    try:
        document = read_template_text(text, upload.name.rsplit(".", 1)[0], known)
    except TemplateError as exc:
        messages.error(request, _("読み込めません。%(problem)s") % {"problem": exc})
        return redirect("builder:form_edit", procedure.pk)
    draft = get_draft(procedure)
    if draft is None:
        draft = FormVersion.new_draft(procedure, document["form"])
    else:
        draft.schema = document["form"]
        draft.save(update_fields=["schema"])
    messages.success(
        request,
        _("「%(file)s」の様式を下書きの第%(number)s版に読み込みました。")
        % {"file": upload.name, "number": draft.number},
    )
    return redirect("builder:form_edit", procedure.pk)


def content_hash(schema: dict) -> str:
    from madoguchi.catalog.loader import canonical_json

    return hashlib.sha256(canonical_json(schema).encode()).hexdigest()[:12]
