"""Staff pages for translating a procedure's texts (/staff/translations/).

The list shows every procedure the user may translate with, per language, how many texts lack
a current translation; a procedure's page shows its texts (procedure page, then the form) in a
table — Japanese, then each language, missing or outdated ones highlighted, filterable to the
missing ones — and, for one chosen language, lets staff type the translations and save them.
Every saved change is recorded (TranslationChange) and the latest ones are listed.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from madoguchi.tenants.decorators import _role_required

from . import services
from .languages import CONTENT_LANGUAGES, LANGUAGE_CODES, STAFF_LANGUAGE_NAMES
from .models import TranslationChange
from .permissions import is_translator, translatable_procedures

translator_required = _role_required(is_translator, "not a translator")


def _languages() -> list[dict]:
    return [
        {"code": code, "name": str(STAFF_LANGUAGE_NAMES[code]), "local": CONTENT_LANGUAGES[code][0]}
        for code in LANGUAGE_CODES
    ]


@never_cache
@translator_required
def procedure_list(request):
    procedures = list(
        translatable_procedures(request.user)
        .select_related("municipality", "current_version")
        .order_by("municipality__lg_code", "category", "reading")
    )
    rows = []
    for procedure in procedures:
        table = services.translation_table(procedure)
        counts = services.missing_counts(table)
        rows.append(
            {
                "procedure": procedure,
                "total": len(table),
                "missing": [counts[code] for code in LANGUAGE_CODES],
            }
        )
    return render(
        request,
        "translations/procedure_list.html",
        {"rows": rows, "languages": _languages()},
    )


@never_cache
@translator_required
@require_http_methods(["GET", "POST"])
def procedure_texts(request, procedure_id: int):
    procedure = (
        translatable_procedures(request.user)
        .select_related("municipality", "current_version")
        .filter(pk=procedure_id)
        .first()
    )
    if procedure is None:
        raise Http404("no such procedure the user may translate")
    source = request.POST if request.method == "POST" else request.GET
    language = source.get("lang", "")
    if language not in LANGUAGE_CODES:
        language = ""
    only_missing = source.get("missing") == "1"
    url = reverse("translations:procedure", args=[procedure.pk])

    if request.method == "POST":
        if not language:
            raise Http404("no language")
        count = int(request.POST.get("count", "0") or 0)
        entries = {}
        for i in range(min(count, 2000)):
            key = request.POST.get(f"key-{i}")
            if key is not None and f"text-{i}" in request.POST:
                entries[key] = request.POST[f"text-{i}"]
        changed = services.save_translations(procedure, language, entries, request.user)
        if changed:
            messages.success(
                request,
                _("%(language)sの翻訳を%(count)d件保存しました。")
                % {"language": STAFF_LANGUAGE_NAMES[language], "count": len(changed)},
            )
        else:
            messages.info(request, _("変更はありませんでした。"))
        query = f"?lang={language}" + ("&missing=1" if only_missing else "")
        return redirect(url + query)

    languages = _languages()
    shown = [lang for lang in languages if lang["code"] == language] if language else languages
    table = services.translation_table(procedure)
    counts = services.missing_counts(table)
    for lang in languages:
        lang["missing"] = counts[lang["code"]]
    rows = []
    for row in table:
        missing = [c for c in row.missing_languages if not language or c == language]
        if only_missing and not missing:
            continue
        rows.append(
            {
                "key": row.text.key,
                "where": row.text.where,
                "japanese": row.text.text,
                "cells": [{**row.cells[lang["code"]], **lang} for lang in shown],
                "multiline": "\n" in row.text.text or len(row.text.text) > 60,
            }
        )
    version = services.texts_version(procedure)
    changes = TranslationChange.objects.filter(procedure=procedure).select_related("user")[:20]
    return render(
        request,
        "translations/procedure.html",
        {
            "procedure": procedure,
            "version": version,
            "languages": languages,
            "shown": shown,
            "language": language,
            "language_name": STAFF_LANGUAGE_NAMES.get(language, ""),
            "only_missing": only_missing,
            "rows": rows,
            "total": len(table),
            "changes": changes,
            "url": url,
        },
    )
