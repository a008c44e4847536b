"""Looking up, listing and saving translations of a procedure's texts.

Residents: `localized_form(version, language)` and `localized_procedure(procedure, language)`
give the form and the procedure page with every text that has a current translation in that
language, the others in Japanese (fallback per text). Staff screens, exports, linkage and PDFs
for staff never call these: they read `FormVersion.form` and the Procedure as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.formengine.schema import FormSchema, SchemaError, compiled_form
from madoguchi.formengine.texts import FormText, form_texts, normalize_text, translate_form

from .languages import LANGUAGE_CODES
from .models import TextTranslation, TranslationChange

logger = logging.getLogger(__name__)

# Procedure page texts (catalog metadata a resident reads), with what they are.
PROCEDURE_TEXT_ATTRS = {
    "name": "手続名",
    "summary": "概要",
    "description": "手続の説明",
    "eligibility": "対象となる方",
    "what_you_need": "必要なもの",
    "duration": "入力にかかる時間の目安",
    "processing_time": "処理にかかる期間の目安",
    "fee": "手数料",
}

# States of one text in one language
TRANSLATED = "translated"
MISSING = "missing"
OUTDATED = "outdated"  # translated from a Japanese text that has changed since


def procedure_texts(values: Mapping[str, Any]) -> list[FormText]:
    """The texts of a procedure page from a Procedure's (or a template's) values."""
    out = []
    for attr, where in PROCEDURE_TEXT_ATTRS.items():
        text = values.get(attr)
        if isinstance(text, str) and text.strip():
            out.append(FormText(f"procedure.{attr}", text, where))
    for index, text in enumerate(values.get("required_attachments") or ()):
        if isinstance(text, str) and text.strip():
            out.append(FormText(f"procedure.required_attachments.{index}", text, "必要な添付書類"))
    return out


def _procedure_values(procedure: Procedure) -> dict[str, Any]:
    values = {attr: getattr(procedure, attr) for attr in PROCEDURE_TEXT_ATTRS}
    values["required_attachments"] = list(procedure.required_attachments or [])
    return values


def texts_version(procedure: Procedure) -> FormVersion | None:
    """The form version whose texts are translated: the published one, else the newest."""
    if procedure.current_version_id is not None:
        return procedure.current_version
    return procedure.versions.order_by("-number").first()


def all_texts(procedure: Procedure, version: FormVersion | None = None) -> list[FormText]:
    """The procedure page's texts, then the form's (de-duplicated by key)."""
    version = version or texts_version(procedure)
    texts = procedure_texts(_procedure_values(procedure))
    if version is not None:
        texts += form_texts(version.schema)
    return list({t.key: t for t in texts}.values())


def _applies(row: TextTranslation | None, japanese: str) -> bool:
    return (
        row is not None
        and bool(row.text.strip())
        and normalize_text(row.source) == normalize_text(japanese)
    )


def state_of(row: TextTranslation | None, japanese: str) -> str:
    if row is None or not row.text.strip():
        return MISSING
    return TRANSLATED if _applies(row, japanese) else OUTDATED


def stored_translations(procedure: Procedure, language: str) -> dict[str, TextTranslation]:
    return {
        row.key: row
        for row in TextTranslation.objects.filter(procedure=procedure, language=language)
    }


def _lookup(rows: Mapping[str, TextTranslation]):
    def lookup(key: str, japanese: str) -> str | None:
        row = rows.get(key)
        return row.text if _applies(row, japanese) else None

    return lookup


# ----------------------------------------------------------------------------- residents


def localized_form(version: FormVersion, language: str | None) -> FormSchema:
    """The form of `version` as a resident reading `language` sees it (Japanese when None or
    without translations). Answers, keys and conditions are those of the Japanese form."""
    if language not in LANGUAGE_CODES:
        return version.form
    cache = getattr(version, "_localized_forms", None)
    if cache is None:
        cache = version._localized_forms = {}
    if language in cache:
        return cache[language]
    rows = stored_translations(version.procedure, language)
    form = version.form
    if rows:
        translated = translate_form(version.schema, _lookup(rows))
        try:
            form = compiled_form(
                translated,
                lambda: f"{version.procedure.slug} v{version.number}",
                key=("form_version", version.pk, language),
            )
        except SchemaError:
            # Only texts are replaced, so this cannot happen with a valid definition; if it
            # does, the resident still gets the Japanese form rather than an error page.
            logger.exception("translated form of %s does not parse", version.pk)
            form = version.form
    cache[language] = form
    return form


class LocalizedProcedure:
    """A Procedure whose resident-facing texts are in one language where translated.
    Everything else (slug, identity level, departments, …) is the procedure's own; it is only
    read, never saved."""

    def __init__(self, procedure: Procedure, texts: Mapping[str, str]):
        self._procedure = procedure
        self._texts = texts
        attachments = list(procedure.required_attachments or [])
        self.required_attachments = [
            texts.get(f"procedure.required_attachments.{i}", text)
            for i, text in enumerate(attachments)
        ]

    def __getattr__(self, name: str):
        if name in PROCEDURE_TEXT_ATTRS:
            return self._texts.get(f"procedure.{name}", getattr(self._procedure, name))
        return getattr(self._procedure, name)

    def __str__(self) -> str:
        return self.name

    @property
    def original(self) -> Procedure:
        return self._procedure


def _procedure_lookup(procedure: Procedure, rows: Mapping[str, TextTranslation]) -> dict:
    lookup = _lookup(rows)
    out = {}
    for text in procedure_texts(_procedure_values(procedure)):
        translated = lookup(text.key, text.text)
        if translated is not None:
            out[text.key] = translated
    return out


def localized_procedure(procedure: Procedure, language: str | None):
    """The procedure as a resident reading `language` sees it (itself for Japanese)."""
    if language not in LANGUAGE_CODES:
        return procedure
    rows = {
        row.key: row
        for row in TextTranslation.objects.filter(
            procedure=procedure, language=language, key__startswith="procedure."
        )
    }
    return LocalizedProcedure(procedure, _procedure_lookup(procedure, rows))


def localized_procedures(procedures: Iterable[Procedure], language: str | None) -> list:
    """Many procedures at once (lists, search results): one query for all of them."""
    procedures = list(procedures)
    if language not in LANGUAGE_CODES or not procedures:
        return procedures
    by_procedure: dict[int, dict[str, TextTranslation]] = {}
    for row in TextTranslation.objects.filter(
        procedure__in=procedures, language=language, key__startswith="procedure."
    ):
        by_procedure.setdefault(row.procedure_id, {})[row.key] = row
    return [
        LocalizedProcedure(p, _procedure_lookup(p, by_procedure.get(p.pk, {}))) for p in procedures
    ]


# ----------------------------------------------------------------------------- staff


@dataclass
class TableRow:
    text: FormText
    cells: dict[str, dict] = field(default_factory=dict)  # language -> {text, state}

    @property
    def missing_languages(self) -> list[str]:
        return [code for code, cell in self.cells.items() if cell["state"] != TRANSLATED]


def translation_table(procedure: Procedure, languages: Iterable[str] = LANGUAGE_CODES):
    """Every text of the procedure with, per language, its translation and state."""
    languages = list(languages)
    rows_by_language: dict[str, dict[str, TextTranslation]] = {code: {} for code in languages}
    for row in TextTranslation.objects.filter(procedure=procedure, language__in=languages):
        rows_by_language[row.language][row.key] = row
    table = []
    for text in all_texts(procedure):
        row = TableRow(text)
        for code in languages:
            stored = rows_by_language[code].get(text.key)
            row.cells[code] = {
                "text": stored.text if stored else "",
                "state": state_of(stored, text.text),
            }
        table.append(row)
    return table


def missing_counts(table: list[TableRow], languages: Iterable[str] = LANGUAGE_CODES) -> dict:
    return {
        code: sum(1 for row in table if row.cells[code]["state"] != TRANSLATED)
        for code in languages
    }


def _create(procedure, language, key, source, text, origin, now, user=None) -> TextTranslation:
    """A new translation of one text (by staff, or from a template without `user`)."""
    return TextTranslation.objects.create(
        procedure=procedure,
        language=language,
        key=key,
        source=source,
        text=text,
        origin=origin,
        updated_at=now,
        updated_by=user,
    )


@transaction.atomic
def save_translations(
    procedure: Procedure, language: str, entries: Mapping[str, str], user
) -> list[str]:
    """Store staff translations for `language` (key -> text; an empty text removes the
    translation). Keys that are not texts of the procedure are ignored. Every change is
    recorded in TranslationChange. Returns the keys that changed."""
    if language not in LANGUAGE_CODES:
        raise ValueError(language)
    japanese = {t.key: t.text for t in all_texts(procedure)}
    rows = {
        row.key: row
        for row in TextTranslation.objects.select_for_update().filter(
            procedure=procedure, language=language, key__in=list(entries)
        )
    }
    changed = []
    now = timezone.now()
    for key, value in entries.items():
        source = japanese.get(key)
        if source is None:
            continue
        text = (value or "").replace("\r\n", "\n").strip()
        row = rows.get(key)
        before = row.text if row else ""
        if row is not None and text == row.text and _applies(row, source):
            continue
        if row is None and not text:
            continue
        if not text:
            row.delete()
        elif row is None:
            _create(procedure, language, key, source, text, TextTranslation.Origin.STAFF, now, user)
        else:
            row.source, row.text, row.origin = source, text, TextTranslation.Origin.STAFF
            row.updated_at, row.updated_by = now, user
            row.save()
        TranslationChange.objects.create(
            procedure=procedure,
            language=language,
            key=key,
            source=source,
            before=before,
            after=text,
            user=user,
            created_at=now,
        )
        changed.append(key)
    return changed


# ----------------------------------------------------------------------------- templates


def check_template_translations(
    data: Any, texts: list[FormText]
) -> tuple[dict[str, dict[str, str]], str | None]:
    """The `translations` block of a standard template, checked against its texts:
    ({language: {key: text}}, None) or ({}, Japanese problem)."""
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, "翻訳（translations）は、言語ごとの対応表で書いてください。"
    known = {t.key for t in texts}
    out: dict[str, dict[str, str]] = {}
    for language, entries in data.items():
        if language not in LANGUAGE_CODES:
            return {}, (
                f"翻訳の言語「{language}」は使えません（使える言語: {', '.join(LANGUAGE_CODES)}）。"
            )
        if not isinstance(entries, dict):
            return {}, f"言語「{language}」の翻訳は、文言の識別子と訳文の対応表で書いてください。"
        out[language] = {}
        for key, text in entries.items():
            if key not in known:
                return {}, (
                    f"言語「{language}」の翻訳の「{key}」は、この標準様式の文言にありません"
                    "（識別子は docs/form-schema.md の「翻訳」を参照してください）。"
                )
            if not isinstance(text, str) or not text.strip():
                return {}, f"言語「{language}」の翻訳「{key}」が空です。"
            out[language][key] = text.strip()
    return out, None


def template_texts(procedure_values: Mapping[str, Any], form: dict) -> list[FormText]:
    return procedure_texts(procedure_values) + form_texts(form)


def check_template_block(
    data: Any, procedure_values: Mapping[str, Any], form: dict
) -> tuple[dict[str, dict[str, str]], str | None]:
    """The loader's check of a template's `translations` block (catalog.loader)."""
    return check_template_translations(data, template_texts(procedure_values, form))


def store_template_block(
    procedure: Procedure,
    translations: Mapping[str, Mapping[str, str]],
    procedure_values: Mapping[str, Any],
    form: dict,
) -> int:
    """The loader's store of a template's `translations` block (catalog.loader)."""
    return store_template_translations(
        procedure, translations, template_texts(procedure_values, form)
    )


def store_template_translations(
    procedure: Procedure,
    translations: Mapping[str, Mapping[str, str]],
    texts: list[FormText],
) -> int:
    """Store a template's translations for a procedure loaded from it. A translation staff
    entered or changed is never overwritten; the source is the template's Japanese text, so a
    text the municipality changed keeps its Japanese until staff translate it. Returns the
    number of rows created or updated."""
    japanese = {t.key: t.text for t in texts}
    count = 0
    now = timezone.now()
    for language, entries in translations.items():
        existing = {
            row.key: row
            for row in TextTranslation.objects.filter(procedure=procedure, language=language)
        }
        for key, text in entries.items():
            row = existing.get(key)
            source = japanese[key]
            if row is None:
                _create(
                    procedure, language, key, source, text, TextTranslation.Origin.TEMPLATE, now
                )
                count += 1
            elif row.origin == TextTranslation.Origin.TEMPLATE and (
                row.text != text or row.source != source
            ):
                row.text, row.source, row.updated_at = text, source, now
                row.save(update_fields=["text", "source", "updated_at"])
                count += 1
    return count
