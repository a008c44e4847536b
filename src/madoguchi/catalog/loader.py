"""Standard templates (標準様式): read, check and load them into a municipality.

A template is `standard_templates/<key>.yaml` with a `procedure` block (catalog metadata,
checked here) and a `form` block (the form definition, checked by
`formengine.schema.parse_form`); see docs/form-schema.md.

`load_standard_templates(municipality)` is idempotent and never overwrites what the
municipality changed:

- a procedure that does not exist yet is created from the template, with its departments
  (created from standard_departments.yaml when missing), and its form is published as 第1版;
- for an existing procedure only the form is looked at: when the template's form differs from
  the published version (and from every earlier version), a new draft version is created for
  staff to review and publish (or it is published at once with `publish=True`). Published
  versions are never touched, and the procedure's metadata is never overwritten.

Each template is loaded in its own transaction: a template that cannot be loaded is reported
with its reason and the others still load.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import DatabaseError, transaction

from madoguchi.formengine.schema import FormSchema, SchemaError, parse_form
from madoguchi.tenants.models import Department, Municipality

from .models import Category, FormVersion, IdentityLevel, LifeEvent, Procedure

__all__ = [
    "DEPARTMENTS_FILE",
    "TEMPLATES_DIR",
    "LoadReport",
    "TemplateDefinition",
    "TemplateError",
    "TemplateResult",
    "available_template_keys",
    "check_procedure",
    "load_standard_departments",
    "load_standard_templates",
    "load_template_file",
    "register_translations_block",
]

TEMPLATES_DIR = Path(__file__).resolve().parent / "standard_templates"
DEPARTMENTS_FILE = Path(__file__).resolve().parent / "standard_departments.yaml"

TEMPLATE_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,79}")
# ひらがな, ゝゞ, ー, ・ and spaces
READING_RE = re.compile(r"[\u3041-\u3096\u309d\u309e\u30fc\u30fb\u3000 ]+")

_TOP_LEVEL_KEYS = ("key", "procedure", "form", "translations")
# procedure block: key -> kind of value
_PROCEDURE_KEYS: dict[str, str] = {
    "name": "text",
    "reading": "reading",
    "category": "category",
    "life_events": "life_events",
    "keywords": "keywords",
    "summary": "text",
    "description": "text",
    "eligibility": "text",
    "what_you_need": "text",
    "duration": "text",
    "processing_time": "text",
    "fee": "text",
    "identity_level": "identity_level",
    "allows_proxy": "bool",
    "departments": "departments",
    "required_attachments": "text_list",
    "retention_years": "retention_years",
    "target_days": "target_days",
}
_REQUIRED_PROCEDURE_KEYS = ("name", "reading", "category", "identity_level", "departments")


# ---------------------------------------------------------------------------------------------
# Errors and results


class TemplateError(ValueError):
    """A standard template that cannot be loaded. `str()` is the full Japanese message naming
    the template, the item (procedure setting, form field or step) and the problem."""

    def __init__(self, template: str, field: str | None, problem: str, *, part: str = "procedure"):
        self.template = template
        self.field = field
        self.problem = problem
        if field is None:
            message = f"標準様式「{template}」: {problem}"
        elif part == "procedure":
            message = f"標準様式「{template}」の手続情報「{field}」: {problem}"
        else:
            message = f"標準様式「{template}」の項目「{field}」: {problem}"
        self.message = message
        super().__init__(message)

    @classmethod
    def from_schema_error(cls, template: str, exc: SchemaError) -> TemplateError:
        error = cls(template, exc.field, exc.problem, part="form")
        # Keep the parser's wording exactly (it distinguishes fields from steps).
        error.message = str(exc)
        error.args = (str(exc),)
        return error

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class TemplateDefinition:
    key: str
    path: Path
    procedure: dict[str, Any]  # checked metadata, ready for Procedure(**procedure)
    departments: tuple[str, ...]
    form: dict[str, Any]  # the `form` block, JSON-ready (stored in FormVersion.schema)
    schema: FormSchema
    # the `translations` block: {language: {text key: text}} (docs/form-schema.md)
    translations: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.procedure["name"]


class Status:
    CREATED = "created"  # new procedure, 第1版 published
    PUBLISHED = "published"  # existing procedure, the template's form published as a new version
    DRAFT = "draft"  # existing procedure, the template's form saved as a new draft version
    UNCHANGED = "unchanged"
    FAILED = "failed"


STATUS_LABELS = {
    Status.CREATED: "新規作成",
    Status.PUBLISHED: "公開",
    Status.DRAFT: "下書き作成",
    Status.UNCHANGED: "変更なし",
    Status.FAILED: "失敗",
}


@dataclass
class TemplateResult:
    key: str
    status: str
    message: str
    name: str = ""
    version: int | None = None

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    def line(self) -> str:
        title = f"{self.key}（{self.name}）" if self.name else self.key
        return f"[{self.label}] {title}: {self.message}"


@dataclass
class LoadReport:
    municipality: Municipality
    results: list[TemplateResult] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)

    def _with(self, status: str) -> list[TemplateResult]:
        return [r for r in self.results if r.status == status]

    @property
    def created(self) -> list[TemplateResult]:
        return self._with(Status.CREATED)

    @property
    def published(self) -> list[TemplateResult]:
        return self._with(Status.PUBLISHED)

    @property
    def drafts(self) -> list[TemplateResult]:
        return self._with(Status.DRAFT)

    @property
    def unchanged(self) -> list[TemplateResult]:
        return self._with(Status.UNCHANGED)

    @property
    def failed(self) -> list[TemplateResult]:
        return self._with(Status.FAILED)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def changed(self) -> bool:
        return bool(self.created or self.published or self.drafts or self.departments_created)

    def result(self, key: str) -> TemplateResult | None:
        return next((r for r in self.results if r.key == key), None)

    def summary(self) -> str:
        counts = "、".join(
            f"{STATUS_LABELS[s]} {len(self._with(s))}件"
            for s in (
                Status.CREATED,
                Status.PUBLISHED,
                Status.DRAFT,
                Status.UNCHANGED,
                Status.FAILED,
            )
        )
        text = f"{self.municipality.name}（{self.municipality.lg_code}）: {counts}"
        if self.departments_created:
            text += f"。担当課を作成: {'、'.join(self.departments_created)}"
        return text + "。"


# ---------------------------------------------------------------------------------------------
# Reading YAML


# libyaml's parser when PyYAML was built with it: loading every standard template (seed_demo,
# each test that loads them) is several times faster than with the pure-Python parser.
_BaseSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseSafeLoader):
    """SafeLoader that refuses duplicate keys in a mapping (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: set = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable key; let PyYAML report it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"「{key}」が同じ対応表の中で重複しています",
                key_node.start_mark,
            )
        seen.add(key)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# Parsed files by (path, size, modification time), as JSON text: reading YAML is what loading
# every standard template spends most of its time on, and the same files are read again each
# time the templates are loaded into a municipality. A file whose content is not plain JSON
# (YAML dates, non-string keys) is not cached, so its errors and values stay exactly as read.
_PARSED: dict[tuple[str, int, int], str] = {}


def _read_yaml(path: Path, template: str) -> Any:
    try:
        stat = path.stat()
        cache_key = (str(path), stat.st_size, stat.st_mtime_ns)
        if cache_key in _PARSED:
            return json.loads(_PARSED[cache_key])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(template, None, f"ファイル「{path}」がありません。") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(
            template, None, f"ファイル「{path.name}」を読めません（{exc}）。"
        ) from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}行目" if mark is not None else "位置不明"
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateError(
            template, None, f"YAML の書き方が正しくありません（{where}: {problem}）。"
        ) from exc
    try:
        as_json = json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError):
        return data
    if json.loads(as_json) == data:
        _PARSED[cache_key] = as_json
    return data


def _jsonable(value: Any, template: str, where: str) -> Any:
    """The value with YAML-only types turned into JSON ones (dates → ISO strings)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TemplateError(
                    template,
                    None,
                    f"{where}の設定名「{k}」は文字列にしてください（YAML では yes, no, on, off, "
                    "数字などは文字列として扱われないため、引用符で囲んでください）。",
                )
            out[k] = _jsonable(v, template, where)
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(v, template, where) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise TemplateError(template, None, f"{where}に使えない種類の値があります（{value!r}）。")


def canonical_json(value: Any) -> str:
    """Stable text of a JSON value, for comparing form definitions."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Departments


def load_standard_departments(path: Path | None = None) -> dict[str, str]:
    """The standard department codes and their Japanese names (standard_departments.yaml)."""
    path = path or DEPARTMENTS_FILE
    data = _read_yaml(path, path.name)
    if not isinstance(data, dict) or not data:
        raise TemplateError(path.name, None, "担当課コードと担当課名の対応表がありません。")
    code_field = Department._meta.get_field("code")
    name_field = Department._meta.get_field("name")
    departments: dict[str, str] = {}
    for code, name in data.items():
        if (
            not isinstance(code, str)
            or not re.fullmatch(r"[a-z][a-z0-9_-]*", code)
            or len(code) > code_field.max_length
        ):
            raise TemplateError(
                path.name,
                None,
                f"担当課コード「{code}」は使えません（半角英小文字で始まる英数字・「_」・「-」で"
                f"{code_field.max_length}文字以内にしてください）。",
            )
        if not isinstance(name, str) or not name.strip() or len(name) > name_field.max_length:
            raise TemplateError(
                path.name,
                None,
                f"担当課コード「{code}」の担当課名を{name_field.max_length}文字以内で書いてください。",
            )
        departments[code] = name.strip()
    return departments


# ---------------------------------------------------------------------------------------------
# One template


def available_template_keys(directory: Path | None = None) -> list[str]:
    directory = directory or TEMPLATES_DIR
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_template_file(
    path: str | Path, *, department_codes: Iterable[str] | None = None
) -> TemplateDefinition:
    """Read and check one template file; raises TemplateError (Japanese message).

    Department codes must be among `department_codes` (default: standard_departments.yaml).
    """
    path = Path(path)
    template = path.stem
    data = _read_yaml(path, template)
    if not isinstance(data, dict):
        raise TemplateError(
            template, None, "標準様式は key, procedure, form を持つ対応表で書いてください。"
        )
    for name in data:
        if name not in _TOP_LEVEL_KEYS:
            raise TemplateError(
                template,
                None,
                f"「{name}」という設定はありません（標準様式で使える設定: "
                f"{', '.join(_TOP_LEVEL_KEYS)}）。",
            )
    key = data.get("key")
    if key is None:
        raise TemplateError(template, None, "標準様式の識別子（key）がありません。")
    if not isinstance(key, str) or not TEMPLATE_KEY_RE.fullmatch(key):
        raise TemplateError(
            template,
            None,
            f"標準様式の識別子「{key}」は使えません。半角英小文字で始め、半角英小文字・数字・"
            "「_」だけで80文字以内にしてください。",
        )
    if key != template:
        raise TemplateError(
            template,
            None,
            f"識別子（key）「{key}」がファイル名「{path.name}」と一致しません。"
            f"ファイル名を「{key}.yaml」にしてください。",
        )
    if department_codes is None:
        department_codes = load_standard_departments().keys()
    procedure, departments = _check_procedure(key, data.get("procedure"), set(department_codes))

    form = data.get("form")
    if form is None:
        raise TemplateError(key, None, "申請フォームの定義（form）がありません。")
    form = _jsonable(form, key, "申請フォームの定義（form）")
    try:
        schema = parse_form(form, source=key)
    except SchemaError as exc:
        raise TemplateError.from_schema_error(key, exc) from exc
    translations = _check_translations(key, data.get("translations"), procedure, form)
    return TemplateDefinition(
        key=key,
        path=path,
        procedure=procedure,
        departments=departments,
        form=form,
        schema=schema,
        translations=translations,
    )


# The `translations` block belongs to the translations app, above catalog: it registers how to
# check and store the block (TranslationsConfig.ready), so catalog never imports it.
_translations_block: tuple[Callable, Callable] | None = None


def register_translations_block(check: Callable, store: Callable) -> None:
    """`check(data, procedure, form)` → ({language: {key: text}}, Japanese problem or None);
    `store(procedure_row, translations, procedure, form)` keeps them for a loaded procedure."""
    global _translations_block
    _translations_block = (check, store)


def _translations_hooks() -> tuple[Callable, Callable]:
    if _translations_block is None:
        raise ImproperlyConfigured("madoguchi.translations is not installed")
    return _translations_block


def _check_translations(template: str, data: Any, procedure: dict, form: dict) -> dict:
    if data is None:
        return {}
    check, _store = _translations_hooks()
    translations, problem = check(
        _jsonable(data, template, "翻訳（translations）"), procedure, form
    )
    if problem:
        raise TemplateError(template, None, problem)
    return translations


def _store_translations(procedure: Procedure, definition: TemplateDefinition) -> None:
    if definition.translations:
        _check, store = _translations_hooks()
        store(procedure, definition.translations, definition.procedure, definition.form)


def check_procedure(
    template: str, data: Any, known_departments: set[str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Check a `procedure` block (the same rules and messages for a template file and for
    the staff procedure editor); returns the model values and the department codes, or
    raises TemplateError."""
    return _check_procedure(template, data, known_departments)


def _check_procedure(
    template: str, data: Any, known_departments: set[str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    if data is None:
        raise TemplateError(template, None, "手続情報（procedure）がありません。")
    if not isinstance(data, dict):
        raise TemplateError(template, None, "手続情報（procedure）は対応表で書いてください。")

    def fail(name: str, problem: str):
        raise TemplateError(template, name, problem)

    for name in data:
        if name not in _PROCEDURE_KEYS:
            fail(
                str(name),
                f"この設定はありません（手続情報で使える設定: {', '.join(_PROCEDURE_KEYS)}）。",
            )
    for name in _REQUIRED_PROCEDURE_KEYS:
        if data.get(name) in (None, "", []):
            fail(name, "必ず指定してください。")

    out: dict[str, Any] = {}
    departments: tuple[str, ...] = ()
    for name, value in data.items():
        kind = _PROCEDURE_KEYS[name]
        if kind == "text":
            out[name] = _text(fail, name, value)
        elif kind == "reading":
            text = _text(fail, name, value)
            if not READING_RE.fullmatch(text):
                wrong = "".join(dict.fromkeys(c for c in text if not READING_RE.fullmatch(c)))
                fail(name, f"手続名の読みは、ひらがなで書いてください（「{wrong}」は使えません）。")
            out[name] = text
        elif kind == "category":
            _choice(fail, name, value, Category.values, "分類")
            out[name] = value
        elif kind == "identity_level":
            _choice(fail, name, value, IdentityLevel.values, "本人確認の水準")
            out[name] = value
        elif kind == "life_events":
            events = _list_of_str(fail, name, value, "ライフイベント")
            for event in events:
                _choice(fail, name, event, LifeEvent.values, "ライフイベント")
            out[name] = events
        elif kind == "keywords":
            if isinstance(value, list):
                value = " ".join(_list_of_str(fail, name, value, "検索キーワード"))
            out[name] = " ".join(_text(fail, name, value).split())
        elif kind == "bool":
            if not isinstance(value, bool):
                fail(name, "true か false で指定してください。")
            out[name] = value
        elif kind == "text_list":
            out[name] = _list_of_str(fail, name, value if value is not None else [], "添付書類")
        elif kind == "retention_years":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
                fail(name, "保存期間（年）は1から100までの整数で指定してください。")
            out[name] = value
        elif kind == "target_days":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 365:
                fail(name, "処理期間の目標（日）は1から365までの整数で指定してください。")
            out[name] = value
        elif kind == "departments":
            codes = _list_of_str(fail, name, value, "担当課コード")
            for code in codes:
                if code not in known_departments:
                    fail(
                        name,
                        f"担当課コード「{code}」は登録されていません（使える担当課コード: "
                        f"{', '.join(sorted(known_departments))}）。",
                    )
            departments = tuple(codes)

    for name, value in out.items():
        model_field = Procedure._meta.get_field(name)
        max_length = getattr(model_field, "max_length", None)
        if max_length and isinstance(value, str) and len(value) > max_length:
            fail(name, f"{max_length}文字以内にしてください（現在{len(value)}文字）。")
    return out, departments


def _text(fail, name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        fail(name, "文字列で指定してください。")
    return value.strip()


def _choice(fail, name: str, value: Any, allowed: Iterable[str], what: str) -> None:
    allowed = list(allowed)
    if value not in allowed:
        fail(name, f"{what}「{value}」は使えません（使える値: {', '.join(allowed)}）。")


def _list_of_str(fail, name: str, value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or any(not isinstance(v, str) or not v.strip() for v in value):
        fail(name, f"{what}は文字列の一覧（リスト）で指定してください。")
    items = [v.strip() for v in value]
    duplicates = sorted({v for v in items if items.count(v) > 1})
    if duplicates:
        fail(name, f"{what}「{duplicates[0]}」が重複しています。")
    return items


# ---------------------------------------------------------------------------------------------
# Loading into a municipality


def load_standard_templates(
    municipality: Municipality,
    *,
    keys: Iterable[str] | None = None,
    stdout: IO[str] | None = None,
    publish: bool = False,
    directory: Path | None = None,
    departments_file: Path | None = None,
) -> LoadReport:
    """Load the standard templates (all, or `keys`) into `municipality`; see the module doc.

    Never raises for a bad template: each failure is in `report.failed` with its reason.
    """
    directory = Path(directory) if directory else TEMPLATES_DIR
    report = LoadReport(municipality=municipality)

    def say(line: str) -> None:
        if stdout is not None:
            stdout.write(line + "\n")

    say(f"{municipality.name}（{municipality.lg_code}）に標準様式を読み込みます。")
    try:
        standard_departments = load_standard_departments(departments_file)
    except TemplateError as exc:
        report.results.append(TemplateResult("standard_departments", Status.FAILED, str(exc)))
        say(report.results[-1].line())
        say(report.summary())
        return report

    available = available_template_keys(directory)
    wanted = list(dict.fromkeys(keys)) if keys is not None else available
    for key in wanted:
        if key not in available:
            result = TemplateResult(
                key,
                Status.FAILED,
                f"標準様式「{key}」はありません（ある標準様式: {', '.join(available)}）。",
            )
        else:
            result = _load_one(
                municipality,
                directory / f"{key}.yaml",
                standard_departments,
                publish=publish,
                report=report,
            )
        report.results.append(result)
        say(result.line())
    say(report.summary())
    return report


def _load_one(
    municipality: Municipality,
    path: Path,
    standard_departments: dict[str, str],
    *,
    publish: bool,
    report: LoadReport,
) -> TemplateResult:
    key = path.stem
    try:
        definition = load_template_file(path, department_codes=standard_departments)
    except TemplateError as exc:
        return TemplateResult(key, Status.FAILED, str(exc))
    created_departments: list[str] = []
    try:
        with transaction.atomic():
            result = _apply(
                municipality, definition, standard_departments, publish, created_departments
            )
    except TemplateError as exc:
        return TemplateResult(key, Status.FAILED, str(exc), name=definition.name)
    except SchemaError as exc:
        return TemplateResult(
            key, Status.FAILED, str(TemplateError.from_schema_error(key, exc)), definition.name
        )
    except ValidationError as exc:
        problems = "、".join(exc.messages)
        return TemplateResult(
            key,
            Status.FAILED,
            f"標準様式「{key}」: 手続を保存できません（{problems}）。",
            definition.name,
        )
    except DatabaseError as exc:
        return TemplateResult(
            key,
            Status.FAILED,
            f"標準様式「{key}」: データベースに保存できません（{exc}）。",
            definition.name,
        )
    report.departments_created.extend(created_departments)
    return result


def _apply(
    municipality: Municipality,
    definition: TemplateDefinition,
    standard_departments: dict[str, str],
    publish: bool,
    created_departments: list[str],
) -> TemplateResult:
    key = definition.key
    procedure = (
        # NO KEY: loads exclude each other; applications referring to the row need not wait.
        Procedure.objects.select_for_update(no_key=True)
        .filter(municipality=municipality, slug=key)
        .first()
    )
    if procedure is None:
        result = _create_procedure(
            municipality, definition, standard_departments, created_departments
        )
        _store_translations(Procedure.objects.get(municipality=municipality, slug=key), definition)
        return result
    if procedure.template_key != key:
        origin = (
            f"標準様式「{procedure.template_key}」から作成されたもの"
            if procedure.template_key
            else "標準様式から作成されたものではありません"
        )
        raise TemplateError(
            key,
            None,
            f"識別子「{key}」の手続「{procedure.name}」がすでにあり、{origin}。"
            "この手続には読み込みません。",
        )
    result = _sync_versions(procedure, definition, publish)
    _store_translations(procedure, definition)
    return result


def _create_procedure(
    municipality: Municipality,
    definition: TemplateDefinition,
    standard_departments: dict[str, str],
    created_departments: list[str],
) -> TemplateResult:
    departments = []
    for code in definition.departments:
        department, created = Department.objects.get_or_create(
            municipality=municipality, code=code, defaults={"name": standard_departments[code]}
        )
        if created:
            created_departments.append(f"{code}（{department.name}）")
        departments.append(department)
    procedure = Procedure(
        municipality=municipality,
        slug=definition.key,
        template_key=definition.key,
        **definition.procedure,
    )
    procedure.full_clean(exclude=["current_version"])
    procedure.save()
    procedure.departments.set(departments)
    version = FormVersion.objects.create(
        procedure=procedure, number=1, schema=definition.form, source_template=definition.key
    )
    version.publish()
    names = "、".join(d.name for d in departments)
    return TemplateResult(
        definition.key,
        Status.CREATED,
        f"手続を作成し、第1版を公開しました（担当課: {names}）。",
        name=definition.name,
        version=1,
    )


def _sync_versions(
    procedure: Procedure, definition: TemplateDefinition, publish: bool
) -> TemplateResult:
    key = definition.key
    wanted = canonical_json(definition.form)
    versions = list(procedure.versions.order_by("-number"))
    published = [v for v in versions if v.status == FormVersion.Status.PUBLISHED]
    current = procedure.current_version or (published[0] if published else None)

    def result(status: str, message: str, version: FormVersion | None) -> TemplateResult:
        return TemplateResult(
            key, status, message, name=procedure.name, version=version.number if version else None
        )

    if current is not None and canonical_json(current.schema) == wanted:
        return result(Status.UNCHANGED, f"公開中の第{current.number}版と同じです。", current)
    same = next((v for v in versions if canonical_json(v.schema) == wanted), None)
    if same is not None and same.status == FormVersion.Status.PUBLISHED:
        # The template has not changed since it was loaded; the municipality has published
        # its own version since then. Keep it.
        return result(
            Status.UNCHANGED,
            f"標準様式は第{same.number}版から変わっていません（公開中の第{current.number}版は"
            "団体で編集したものなので、そのままにします）。",
            current,
        )
    if publish or current is None:
        version = same or _new_version(procedure, definition)
        version.publish()
        replaced = f"（第{current.number}版に代わって公開中になります）" if current else ""
        return result(
            Status.PUBLISHED,
            f"標準様式の内容を第{version.number}版として公開しました{replaced}。",
            version,
        )
    if same is not None:
        return result(
            Status.UNCHANGED,
            f"標準様式の新しい内容は下書きの第{same.number}版として作成済みです"
            f"（公開中の第{current.number}版はそのままです）。",
            same,
        )
    version = _new_version(procedure, definition)
    return result(
        Status.DRAFT,
        f"標準様式が更新されています。下書きの第{version.number}版を作成しました"
        f"（公開中の第{current.number}版はそのままです。内容を確認して公開してください）。",
        version,
    )


def _new_version(procedure: Procedure, definition: TemplateDefinition) -> FormVersion:
    last = (
        FormVersion.objects.select_for_update(no_key=True)
        .filter(procedure=procedure)
        .order_by("-number")
        .first()
    )
    return FormVersion.objects.create(
        procedure=procedure,
        number=(last.number + 1) if last else 1,
        schema=definition.form,
        source_template=definition.key,
    )
