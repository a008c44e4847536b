"""The shared 様式 library: what a municipality may copy, copying, updates, and moving the
library between deployments as files (a zip of standard-template YAML files).

Sources: the standard templates (catalog/standard_templates), the published forms other
municipalities of the deployment share, and forms imported from other deployments. A copy is
the municipality's own procedure with a draft form (nothing is published until staff do it);
the source and its version are recorded, so that when the source changes the copy shows
「更新があります」 with the difference and takes it in one step (into its draft).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from madoguchi.catalog.loader import (
    TEMPLATES_DIR,
    TemplateError,
    available_template_keys,
    canonical_json,
    load_standard_departments,
    load_template_file,
)
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.tenants.models import Department, Municipality

from .models import FormCopy, ImportedForm, SharedForm
from .procedure_forms import PROCEDURE_BLOCK_FIELDS

MAX_LIBRARY_FILE = 20 * 1024 * 1024
MAX_LIBRARY_ENTRIES = 500


def digest(schema: dict) -> str:
    return hashlib.sha256(canonical_json(schema).encode()).hexdigest()


@dataclass
class Entry:
    kind: str
    ref: str
    name: str
    origin: str
    version: str  # shown to people: 第N版 or a short digest
    version_token: str
    procedure_block: dict
    departments: list[str]  # department codes
    form: dict

    @property
    def ident(self) -> str:
        return f"{self.kind}:{self.ref}"


def _template_entry(key: str) -> Entry | None:
    try:
        definition = load_template_file(TEMPLATES_DIR / f"{key}.yaml")
    except TemplateError:
        return None
    token = digest(definition.form)
    return Entry(
        kind=FormCopy.Kind.TEMPLATE,
        ref=key,
        name=definition.name,
        origin="標準様式",
        version=token[:8],
        version_token=token,
        procedure_block=dict(definition.procedure),
        departments=list(definition.departments),
        form=definition.form,
    )


def _shared_entry(shared: SharedForm) -> Entry | None:
    procedure = shared.procedure
    version = procedure.current_version
    if version is None:
        return None
    block = {
        name: getattr(procedure, name)
        for name in (
            *PROCEDURE_BLOCK_FIELDS,
            "required_attachments",
            "retention_years",
            "target_days",
        )
    }
    return Entry(
        kind=FormCopy.Kind.SHARED,
        ref=str(procedure.pk),
        name=procedure.name,
        origin=procedure.municipality.name,
        version=_("第%(n)s版") % {"n": version.number},
        version_token=str(version.number),
        procedure_block=block,
        departments=[d.code for d in procedure.departments.all()],
        form=version.schema,
    )


def _imported_entry(item: ImportedForm) -> Entry:
    document = item.document
    block = dict(document.get("procedure") or {})
    departments = block.pop("departments", [])
    return Entry(
        kind=FormCopy.Kind.IMPORTED,
        ref=str(item.pk),
        name=item.name,
        origin=item.origin,
        version=item.digest[:8],
        version_token=item.digest,
        procedure_block=block,
        departments=list(departments),
        form=document["form"],
    )


def entries(municipality: Municipality) -> list[Entry]:
    """Everything `municipality` may copy: standard templates, other municipalities' shared
    forms, imported forms."""
    out = [e for e in (_template_entry(k) for k in available_template_keys()) if e]
    shared = (
        SharedForm.objects.exclude(procedure__municipality=municipality)
        .select_related("procedure__municipality", "procedure__current_version")
        .prefetch_related("procedure__departments")
        .order_by("procedure__municipality__lg_code", "procedure__reading")
    )
    out += [e for e in (_shared_entry(s) for s in shared) if e]
    out += [_imported_entry(i) for i in ImportedForm.objects.order_by("origin", "name")]
    return out


def find_entry(municipality: Municipality, kind: str, ref: str) -> Entry | None:
    if kind == FormCopy.Kind.TEMPLATE:
        return _template_entry(ref) if ref in available_template_keys() else None
    if kind == FormCopy.Kind.SHARED:
        shared = (
            SharedForm.objects.exclude(procedure__municipality=municipality)
            .filter(procedure_id=int(ref) if ref.isdigit() else -1)
            .select_related("procedure__municipality", "procedure__current_version")
            .first()
        )
        return _shared_entry(shared) if shared else None
    if kind == FormCopy.Kind.IMPORTED:
        item = ImportedForm.objects.filter(pk=int(ref) if ref.isdigit() else -1).first()
        return _imported_entry(item) if item else None
    return None


def _free_slug(municipality: Municipality, wanted: str) -> str:
    base = wanted.replace("_", "-")[:70] or "tetsuzuki"
    slug, n = base, 1
    while Procedure.objects.filter(municipality=municipality, slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def copy_entry(entry: Entry, municipality: Municipality, own_departments=None) -> Procedure:
    """The municipality's own procedure from `entry`, with the form as a draft (第1版)."""
    names = {}
    try:
        names = load_standard_departments()
    except TemplateError:
        names = {}
    departments = []
    for code in entry.departments:
        department, _created = Department.objects.get_or_create(
            municipality=municipality, code=code, defaults={"name": names.get(code, code)}
        )
        departments.append(department)
    if own_departments is not None and not set(departments) & set(own_departments):
        departments.append(own_departments[0])
    block = {k: v for k, v in entry.procedure_block.items() if v is not None}
    procedure = Procedure(
        municipality=municipality,
        slug=_free_slug(municipality, entry.ref if entry.kind != "shared" else f"copy-{entry.ref}"),
        template_key=entry.ref if entry.kind == FormCopy.Kind.TEMPLATE else "",
        **block,
    )
    procedure.full_clean(exclude=["current_version", "slug"])
    procedure.save()
    procedure.departments.set(departments)
    FormVersion.objects.create(
        procedure=procedure,
        number=1,
        schema=entry.form,
        source_template=entry.ref if entry.kind == FormCopy.Kind.TEMPLATE else "",
    )
    FormCopy.objects.create(
        procedure=procedure,
        municipality=municipality,
        kind=entry.kind,
        source_ref=entry.ref,
        source_label=f"{entry.origin}「{entry.name}」",
        source_version=entry.version_token,
        source_schema=entry.form,
    )
    return procedure


def pending_update(copy: FormCopy) -> Entry | None:
    """The source's newer version, when it changed since the copy last took it."""
    entry = find_entry(copy.municipality, copy.kind, copy.source_ref)
    if entry is None:
        return None
    if entry.version_token == copy.source_version:
        return None
    if digest(entry.form) == digest(copy.source_schema):
        return None
    return entry


@transaction.atomic
def take_update(copy: FormCopy, entry: Entry) -> FormVersion:
    """Put the source's new form into the copy's draft (a new draft when there is none) and
    record the version taken."""
    procedure = copy.procedure
    draft = (
        FormVersion.objects.select_for_update()
        .filter(procedure=procedure, status=FormVersion.Status.DRAFT)
        .order_by("-number")
        .first()
    )
    if draft is None:
        draft = FormVersion.new_draft(procedure, entry.form)
    else:
        draft.schema = entry.form
        draft.save(update_fields=["schema"])
    copy.source_version = entry.version_token
    copy.source_schema = entry.form
    copy.save(update_fields=["source_version", "source_schema", "taken_at"])
    return draft


# ---------------------------------------------------------------------------------------------
# Files


def export_library(municipality: Municipality, documents: list[dict]) -> bytes:
    """A zip of standard-template YAML files (one per document) and a manifest naming the
    origin, so that another deployment can import them into its library."""
    from .views import dump_yaml

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        manifest = {"origin": municipality.name, "lg_code": municipality.lg_code, "forms": []}
        for document in documents:
            name = f"{document['key']}.yaml"
            archive.writestr(name, dump_yaml(document))
            manifest["forms"].append(name)
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return buffer.getvalue()


class LibraryFileError(ValueError):
    pass


def import_library(data: bytes, known_departments: set[str]) -> list[str]:
    """Read a library zip; every file is checked with the loader's rules first, and nothing
    is stored unless all of them pass. Returns the names imported."""
    from .views import read_template_text

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise LibraryFileError(
            _("ファイルは、様式ライブラリから書き出した zip ファイルにしてください。")
        ) from exc
    with archive:
        names = archive.namelist()
        if "manifest.json" not in names:
            raise LibraryFileError(_("zip ファイルに manifest.json がありません。"))
        try:
            manifest = json.loads(archive.read("manifest.json").decode("utf-8"))
            origin = str(manifest["origin"])[:200]
        except (ValueError, KeyError, TypeError) as exc:
            raise LibraryFileError(_("manifest.json の内容が正しくありません。")) from exc
        files = [n for n in names if n.endswith((".yaml", ".yml"))]
        if len(files) > MAX_LIBRARY_ENTRIES:
            raise LibraryFileError(
                _("一度に読み込める様式は%(count)s件までです。") % {"count": MAX_LIBRARY_ENTRIES}
            )
        documents = []
        for name in files:
            info = archive.getinfo(name)
            if info.file_size > 2 * 1024 * 1024:
                raise LibraryFileError(
                    _("「%(file)s」が大きすぎます（%(limit)sまで）。")
                    % {"file": name, "limit": "2MB"}
                )
            source = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            try:
                text = archive.read(name).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise LibraryFileError(
                    _("「%(file)s」は UTF-8 にしてください。") % {"file": name}
                ) from exc
            try:
                document = read_template_text(text, source, known_departments | _codes(text))
            except TemplateError as exc:
                raise LibraryFileError(str(exc)) from exc
            document["key"] = document.get("key") or source
            documents.append(document)
    imported = []
    with transaction.atomic():
        for document in documents:
            name = (document.get("procedure") or {}).get("name") or document["form"]["title"]
            ImportedForm.objects.update_or_create(
                key=document["key"],
                origin=origin,
                defaults={"name": name, "document": document, "digest": digest(document["form"])},
            )
            imported.append(name)
    return imported


def _codes(text: str) -> set[str]:
    """Department codes a file names: another deployment's codes are accepted (a copy creates
    the department when the municipality has none of that code)."""
    import yaml

    try:
        data = yaml.safe_load(text)
        codes = data["procedure"]["departments"]
        return {c for c in codes if isinstance(c, str)}
    except (yaml.YAMLError, KeyError, TypeError):
        return set()
