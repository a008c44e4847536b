"""Complete, valid answers generated from any form definition — and broken ones.

A test helper for every test that needs to fill a form it did not write by hand (standard
templates, forms built by staff, library copies). It walks the parsed definition the way the
form engine does — steps in order, conditions evaluated against what was answered before,
repeats with at least their `min` items, required and `required_if` fields — and produces
values that each field type accepts:

    filled = formgen.generate(form, seed=3)            # or fill_optional=False: the minimum
    filled.answers                  # normalised answers, exactly as the engine stores them
    filled.step_keys                # the steps a resident would see, in order
    filled.post_data(step_key)      # what a browser posts for that step (no file inputs)
    filled.uploads(step_key)        # {input name: [Upload, ...]} small real files to post
    filled.raw(step_key)            # the engine's raw values (attachments kept by id)

    for case in formgen.invalid_cases(form, filled):   # one broken field at a time
        case.step, case.raw, case.uploads, case.path, case.message

`invalid_cases` states the exact message a resident must read for each broken field (required
field left empty, too long, wrong pattern, out of range, impossible date, wrong check digit,
unknown option, file of the wrong type). The messages are written out here on purpose, not
taken from the engine, so a test fails when the engine's wording drifts.

`answers_strategy(form)` is the same generator as a Hypothesis strategy (the seed is drawn).
`fill_in_browser(page, form, filled, step_key, files_dir)` types a step into a Playwright page.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import random
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import rstr

from madoguchi.formengine.conditions import evaluate, is_required
from madoguchi.formengine.fields import TYPES
from madoguchi.formengine.fields.base import child_loc, top_loc
from madoguchi.formengine.schema import REPEAT_HARD_MAX, Field, FormSchema
from madoguchi.formengine.validation import raw_from_answers
from madoguchi.jp.check_digits import (
    corporate_number_check_digit,
    individual_number_check_digit,
)

__all__ = [
    "Filled",
    "InvalidCase",
    "Upload",
    "answers_strategy",
    "fill_in_browser",
    "generate",
    "invalid_cases",
    "japan_today",
]

# -- small real files (content-type detection reads the magic bytes) ---------------------------

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n170\n%%EOF\n"
)
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415408d763f8ffff3f0005fe02fe0def46b80000000049454e44ae426082"
)
JPEG_BYTES = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 32
    + b"\xff\xd9"
)
FILES = {
    "pdf": ("書類.pdf", PDF_BYTES, "application/pdf"),
    "png": ("写真.png", PNG_BYTES, "image/png"),
    "jpeg": ("写真.jpg", JPEG_BYTES, "image/jpeg"),
}


class Upload(io.BytesIO):
    """A file-like upload (name, size, read, seek), as Django's UploadedFile behaves."""

    def __init__(self, name: str, content: bytes, content_type: str = "application/pdf"):
        super().__init__(content)
        self.name = name
        self.size = len(content)
        self.content_type = content_type


# -- sample values ----------------------------------------------------------------------------

NAMES = [
    ("山田", "花子", "ヤマダ", "ハナコ"),
    ("佐藤", "太郎", "サトウ", "タロウ"),
    ("髙橋", "美咲", "タカハシ", "ミサキ"),
    ("渡邉", "健一", "ワタナベ", "ケンイチ"),
    ("小林", "さくら", "コバヤシ", "サクラ"),
]
# Postal codes Japan Post knows (the address lookup and the submit-time check find them).
POSTAL_CODES = ["1000001", "1020083", "1600023"]
ADDRESSES = ["東京都千代田区千代田1-1", "東京都千代田区麹町2丁目3番4号 みほんハイツ101"]
PHONES = ["03-1234-5678", "090-1234-5678", "06-6123-4567"]
EMAILS = ["hanako@example.jp", "taro@example.com"]
KATAKANA = "テスト"
# Names for text fields that hold a person's name (kanji outside JIS X 0208 included).
PERSON_NAMES = ("山田 太郎", "𠮷野 花子", "髙橋 一郎", "山﨑 次郎", "ジョン・スミス")
# (bank code, bank name, branch code, branch name) present in the bundled zengin data
BANKS = [("0001", "みずほ", "001", "東京営業部"), ("9900", "ゆうちょ", "018", "〇一八")]
HOLDERS = ["ヤマダ　ハナコ", "サトウ　タロウ"]
EARLIEST = datetime.date(1930, 1, 1)


def japan_today() -> datetime.date:
    """Today in Japan: what the engine checks `min`/`max: today` against."""
    from madoguchi.formengine.fields.jpfields import today

    return today()


# -- the generator ----------------------------------------------------------------------------


@dataclass
class Filled:
    """A complete, valid set of answers for a form, with what to post to get them."""

    form: FormSchema
    answers: dict
    step_keys: list[str]
    files: dict[str, list[tuple[str, bytes, str]]] = field(default_factory=dict)
    today: datetime.date | None = None

    def step_answers(self, step_key: str) -> dict:
        step = self.form.step(step_key)
        return {f.key: self.answers[f.key] for f in step.fields if f.key in self.answers}

    def raw(self, step_key: str) -> dict:
        """The engine's raw values for the step (files kept by their attachment ids)."""
        return raw_from_answers(self.form, step_key, self.answers)

    def post_data(self, step_key: str) -> dict:
        """What a browser posts for the step, without the file inputs (see `uploads`)."""
        return {k: v for k, v in self.raw(step_key).items() if not k.endswith("__keep")}

    def uploads(self, step_key: str) -> dict[str, list[Upload]]:
        """Fresh upload objects for every file field of the step, by input name."""
        prefix_ok = {f.key for f in self.form.step(step_key).fields}
        out: dict[str, list[Upload]] = {}
        for name, files in self.files.items():
            if name.split("__", 1)[0] in prefix_ok:
                out[name] = [Upload(*spec) for spec in files]
        return out


class _Generator:
    def __init__(
        self,
        form: FormSchema,
        rng: random.Random,
        today: datetime.date,
        fill_optional: bool,
        choices: Mapping[str, Any],
    ):
        self.form = form
        self.rng = rng
        self.today = today
        self.fill_optional = fill_optional
        self.choices = dict(choices)
        self.files: dict[str, list[tuple[str, bytes, str]]] = {}
        self.person = rng.randrange(len(NAMES))

    def run(self) -> Filled:
        answers: dict = {}
        for step in self.form.steps:
            self.walk(step.fields, answers, answers, None, None)
        step_keys = [
            s.key for s in self.form.steps if any(evaluate(f.visible_if, answers) for f in s.fields)
        ]
        return Filled(self.form, answers, step_keys, self.files, self.today)

    def walk(self, fields, out: dict, scope, repeat: Field | None, index: int | None) -> None:
        for f in fields:
            loc = top_loc(f) if repeat is None else child_loc(repeat, index, f)
            if not evaluate(f.visible_if, scope):
                continue
            required = is_required(f, scope)
            if f.key in self.choices:
                value = self.choices[f.key]
                if value is not None:
                    out[f.key] = value
                continue
            if not required and f.type != "repeat" and not self.fill_optional:
                continue
            value = self.value(f, loc, scope)
            if value is not None:
                out[f.key] = value

    # one value per type, normalised exactly as the engine stores it
    def value(self, f: Field, loc, scope) -> Any:
        rng = self.rng
        kind = f.type
        if kind == "repeat":
            return self.repeat(f, scope)
        if kind == "notice":
            return True
        if kind in ("select", "radio"):
            return rng.choice(f.options).value
        if kind == "checkboxes":
            lo = max(f.min_selected or 1, 1)
            hi = min(f.max_selected or len(f.options), len(f.options))
            chosen = set(rng.sample([o.value for o in f.options], rng.randint(lo, hi)))
            return [o.value for o in f.options if o.value in chosen]
        if kind == "yesno":
            return rng.random() < 0.5
        if kind == "name":
            family, given, family_kana, given_kana = NAMES[(self.person + f.order) % len(NAMES)]
            value = {"family": family, "given": given}
            if f.kana:
                value |= {"family_kana": family_kana, "given_kana": given_kana}
            return value
        if kind == "katakana":
            return KATAKANA[: f.max_length or 100]
        if kind in ("text", "textarea", "address"):
            return self.text(f)
        if kind == "date":
            return self.date(f).isoformat()
        if kind == "postal_code":
            return rng.choice(POSTAL_CODES)
        if kind == "phone":
            return rng.choice(PHONES)
        if kind == "email":
            return rng.choice(EMAILS)
        if kind in ("integer", "money"):
            lo = f.min if f.min is not None else 0
            hi = f.max if f.max is not None else lo + 100
            return rng.randint(lo, hi)
        if kind == "decimal":
            return self.decimal(f)
        if kind == "individual_number":
            eleven = "".join(str(rng.randrange(10)) for _ in range(11))
            return eleven + str(individual_number_check_digit(eleven))
        if kind == "corporate_number":
            twelve = "".join(str(rng.randrange(10)) for _ in range(12))
            return str(corporate_number_check_digit(twelve)) + twelve
        if kind == "bank_account":
            bank_code, bank_name, branch_code, branch_name = rng.choice(BANKS)
            return {
                "bank_code": bank_code,
                "bank_name": bank_name,
                "branch_code": branch_code,
                "branch_name": branch_name,
                "account_type": "普通",
                "account_number": f"{rng.randrange(1, 10_000_000):07d}",
                "holder_kana": rng.choice(HOLDERS),
            }
        if kind == "file":
            return self.file(f, loc)
        raise NotImplementedError(f"formgen cannot fill a field of type {kind!r} yet")

    def repeat(self, f: Field, scope) -> list[dict]:
        upper = min(f.max or REPEAT_HARD_MAX, REPEAT_HARD_MAX)
        count = f.min
        if self.fill_optional:
            count = min(max(f.min, 1) + self.rng.randint(0, 1), upper)
        items = []
        for i in range(count):
            item: dict = {}
            self.walk(f.fields, item, ChainMap(item, scope), f, i)
            items.append(item)
        return items

    def text(self, f: Field) -> str:
        limit = f.max_length or 200
        if f.pattern is not None:
            maker = rstr.Rstr(self.rng)
            for _ in range(50):
                candidate = maker.xeger(f.pattern.pattern)
                if 0 < len(candidate) <= limit and f.pattern.fullmatch(candidate):
                    return candidate
            raise AssertionError(f"formgen: no value of {f.key} matches {f.pattern.pattern}")
        if f.type == "address":
            return self.rng.choice(ADDRESSES)[:limit]
        if f.person_name:
            # A person's name: the label (「…（防火担当者）の氏名」) is no name.
            return self.rng.choice(PERSON_NAMES)[:limit]
        sample = f"{f.label}の記入例"
        if f.type == "textarea":
            sample += "です。\n2行目の説明です。"
        return sample[:limit]

    def date(self, f: Field) -> datetime.date:
        def limit(spec):
            if spec is None:
                return None
            return self.today if spec == "today" else datetime.date.fromisoformat(spec)

        lo, hi = limit(f.min), limit(f.max)
        if lo is None and hi is None:
            lo, hi = self.today - datetime.timedelta(days=365 * 40), self.today
        elif lo is None:
            lo = max(EARLIEST, hi - datetime.timedelta(days=365 * 40))
        elif hi is None:
            hi = lo + datetime.timedelta(days=60)
        return lo + datetime.timedelta(days=self.rng.randint(0, (hi - lo).days))

    def decimal(self, f: Field) -> str:
        step = Decimal(1).scaleb(-f.places)
        lo = f.min if f.min is not None else Decimal(0)
        hi = f.max if f.max is not None else lo + 100
        first = (lo / step).to_integral_value(ROUND_CEILING)
        last = (hi / step).to_integral_value(ROUND_FLOOR)
        number = (Decimal(self.rng.randint(int(first), int(last))) * step).quantize(step)
        return format(number, "f")

    def file(self, f: Field, loc) -> list[dict]:
        kinds = [k for k in ("pdf", "png", "jpeg") if k in f.accept]
        count = 1 if not self.fill_optional else self.rng.randint(1, min(2, f.max_files))
        specs = [FILES[kinds[i % len(kinds)]] for i in range(count)]
        self.files[loc.name] = specs
        answers = []
        for i, (name, content, content_type) in enumerate(specs):
            answers.append(
                {
                    "attachment": f"formgen-{loc.name}-{i}",
                    "name": name,
                    "content_type": content_type,
                    "size": len(content),
                    "sha256": hashlib.sha256(content).hexdigest(),
                }
            )
        return answers


def generate(
    form: FormSchema,
    seed: int = 0,
    *,
    today: datetime.date | None = None,
    fill_optional: bool = True,
    choices: Mapping[str, Any] | None = None,
) -> Filled:
    """Valid answers for every visible field of `form`.

    `seed` picks options, counts and values (same seed, same answers); `fill_optional=False`
    leaves every optional field empty and repeats at their minimum; `choices` forces the
    normalised answer of some fields by key (e.g. `{"applicant_type": "office"}`; None leaves
    the field empty). `today` is the date `min`/`max: today` are checked against (Japan's).
    """
    generator = _Generator(
        form, random.Random(seed), today or japan_today(), fill_optional, choices or {}
    )
    return generator.run()


def answers_strategy(form: FormSchema, **options):
    """Hypothesis strategy of `Filled` for `form` (the seed is what Hypothesis draws)."""
    from hypothesis import strategies as st

    return st.integers(min_value=0, max_value=2**32 - 1).map(
        lambda seed: generate(form, seed, **options)
    )


# -- broken answers ---------------------------------------------------------------------------


@dataclass
class InvalidCase:
    """One field broken in an otherwise valid step, and what the resident must read."""

    step: str
    path: str  # the error's path: "key" or "repeat.0.key"
    message: str
    raw: dict
    uploads: dict = field(default_factory=dict)
    rule: str = ""
    # True when other fields' visibility depends on the broken one: more errors may follow
    affects_conditions: bool = False

    def __str__(self) -> str:
        return f"{self.step}/{self.path} ({self.rule})"


def _required_message(f: Field, label: str) -> str:
    if f.type in ("select", "radio", "checkboxes", "yesno"):
        return f"{label}を選択してください。"
    if f.type == "file":
        return f"{label}を添付してください。"
    if f.type == "notice":
        return f"「{label}」の内容を確認し、チェックを入れてください。"
    return f"{label}を入力してください。"


def _with_unit(value, unit: str, money: bool) -> str:
    return (f"{value:,}" if money else str(value)) + unit


def _range_message(f: Field, label: str) -> str:
    money = f.type == "money"
    unit = "円" if money else f.unit
    lo = f.min if f.min is not None else (0 if money else None)
    if lo is not None and f.max is not None:
        return (
            f"{label}は{_with_unit(lo, unit, money)}以上{_with_unit(f.max, unit, money)}"
            "以下で入力してください。"
        )
    if lo is not None:
        return f"{label}は{_with_unit(lo, unit, money)}以上で入力してください。"
    return f"{label}は{_with_unit(f.max, unit, money)}以下で入力してください。"


def _condition_sources(form: FormSchema) -> set[str]:
    keys: set[str] = set()
    for f in form.all_fields():
        for cond in (f.visible_if, f.required_if):
            if cond is not None:
                keys.update(cond.field_keys())
    return keys


def _breakages(f: Field, label: str, required: bool) -> Iterator[tuple[str, Any, str, dict]]:
    """(rule, raw value(s) for the field's inputs, expected message, uploads) to try."""
    kind = f.type
    if required and kind != "repeat":
        yield "required", None, _required_message(f, label), {}
    if kind in ("text", "textarea", "address") and f.max_length:
        too_long = "あ" * (f.max_length + 1)
        yield (
            "max_length",
            too_long,
            f"{label}は{f.max_length}文字以内で入力してください（現在{len(too_long)}文字）。",
            {},
        )
    if kind == "text" and f.person_name:
        yield (
            "characters",
            "山田😀",
            f"{label}に使えない文字が含まれています（「😀」は使えません）。",
            {},
        )
    if kind == "text" and f.pattern is not None and not f.pattern.fullmatch("×"):
        yield "format", "×", f.pattern_message or f"{label}の形式が正しくありません。", {}
    if kind in ("integer", "money") and (f.max is not None or f.min is not None):
        bad = f.max + 1 if f.max is not None else f.min - 1
        yield "range", str(bad), _range_message(f, label), {}
    if kind == "integer":
        yield "format", "1.5", f"{label}は半角または全角の整数で入力してください。", {}
    if kind == "decimal":
        yield "format", "abc", f"{label}は数値で入力してください（例：12.5）。", {}
    if kind == "individual_number":
        wrong = (individual_number_check_digit("12345678901") + 1) % 10
        yield (
            "check_digit",
            f"12345678901{wrong}",
            "個人番号が正しくありません。入力した番号をもう一度ご確認ください。",
            {},
        )
    if kind == "corporate_number":
        good = str(corporate_number_check_digit("234567890123")) + "234567890123"
        bad = str((int(good[0]) % 9) + 1) + good[1:]
        yield (
            "check_digit",
            bad,
            "法人番号が正しくありません。入力した番号をもう一度ご確認ください。",
            {},
        )
    if kind == "postal_code":
        yield "format", "12345", "郵便番号は7桁の数字で入力してください（例：100-0001）。", {}
        # Well formed but not used by Japan Post: refused on submit with the lookup's message.
        yield (
            "postal_unknown",
            "999-0001",
            "郵便番号「999-0001」に該当する住所が見つかりません。郵便番号をもう一度ご確認ください。",
            {},
        )
    if kind == "phone":
        yield (
            "format",
            "12345",
            "電話番号は市外局番から、10桁または11桁の数字で入力してください"
            "（例：03-1234-5678、090-1234-5678）。",
            {},
        )
    if kind == "email":
        yield (
            "format",
            "hanako",
            "メールアドレスの形式が正しくありません（例：taro@example.jp）。",
            {},
        )
    if kind == "date":
        parts = {"year": "2023", "month": "2", "day": "30"}
        if f.era_input:
            parts["era"] = "西暦"
        yield "date_impossible", parts, "2月30日は存在しない日付です。", {}
    if kind in ("select", "radio", "checkboxes"):
        yield "choice", "__unknown__", f"{label}は表示されている選択肢から選んでください。", {}
    if kind == "yesno":
        yield "choice", "maybe", f"{label}は「はい」か「いいえ」を選んでください。", {}
    if kind == "name":
        yield (
            "characters",
            {"family": "山田😀"},
            f"{label}の姓に使えない文字が含まれています（「😀」は使えません）。",
            {},
        )
    if kind == "name" and f.kana:
        yield (
            "kana",
            {"family_kana": "山"},
            f"{label}のフリガナ（セイ）はカタカナで入力してください（「山」は使えません）。",
            {},
        )
    if kind == "file":
        kinds = "、".join(
            {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG", "heic": "HEIC"}[k] for k in f.accept
        )
        yield (
            "file_type",
            None,
            f"{label}に添付できるのは{kinds}のファイルです（「メモ.txt」は対応していない形式です）。",
            {"file": [("メモ.txt", b"plain text, not a document", "text/plain")]},
        )


def _set_inputs(f: Field, loc, raw: dict, value: Any) -> None:
    """Put `value` into the field's inputs in `raw` (None: every input emptied)."""
    names = TYPES[f.type].input_names(f, loc)
    if value is None:
        for name, is_list in names:
            raw[name] = [] if is_list else ""
        return
    if isinstance(value, dict):  # some parts of a compound field
        for part, text in value.items():
            raw[loc.input_name(part)] = text
        return
    name, is_list = names[0]
    if f.type == "email":
        raw[loc.name] = value
        if f.confirm:
            raw[loc.input_name("confirm")] = value
        return
    raw[name] = [value] if is_list else value


def invalid_cases(form: FormSchema, filled: Filled) -> Iterator[InvalidCase]:
    """For every field a resident sees with `filled`'s answers (inside repeats: the first
    item), each way to get it wrong, with the exact message the engine must give."""
    sources = _condition_sources(form)
    answers = filled.answers
    for step_key in filled.step_keys:
        step = form.step(step_key)
        base_raw = filled.raw(step_key)
        targets: list[tuple[Field, Any, Mapping]] = []
        for f in step.fields:
            if not evaluate(f.visible_if, answers):
                continue
            targets.append((f, top_loc(f), answers))
            if f.type == "repeat" and answers.get(f.key):
                item = answers[f.key][0]
                scope = ChainMap(item, answers)
                for child in f.fields:
                    if evaluate(child.visible_if, scope):
                        targets.append((child, child_loc(f, 0, child), scope))
        for f, loc, scope in targets:
            if f.type == "repeat":
                if f.min >= 1:
                    raw = dict(base_raw)
                    raw[f"{loc.name}__count"] = "0"
                    yield InvalidCase(
                        step_key,
                        loc.path,
                        f"{f.item_label}は{f.min}{f.item_counter}以上入力してください。",
                        raw,
                        rule="min_items",
                        affects_conditions=True,
                    )
                continue
            for rule, value, message, files in _breakages(f, loc.label, is_required(f, scope)):
                raw = dict(base_raw)
                _set_inputs(f, loc, raw, value)
                uploads = {}
                if files:
                    raw[loc.input_name("keep")] = []
                    uploads = {loc.name: [Upload(*spec) for spec in files["file"]]}
                yield InvalidCase(
                    step_key,
                    loc.path,
                    message,
                    raw,
                    uploads,
                    rule,
                    affects_conditions=f.key in sources,
                )


# -- a browser ---------------------------------------------------------------------------------


def fill_in_browser(page, form: FormSchema, filled: Filled, step_key: str, files_dir) -> None:
    """Type one step of `filled` into a Playwright page that shows that step, the way a
    resident does: field by field in page order (so that fields revealed by an earlier answer
    are there when their turn comes), repeat items added with the page's own button, the
    address left for the postal-code lookup to fill before it is typed over, files attached
    from `files_dir` (a pathlib.Path that receives them). Inputs are found by the names of
    docs/contracts-formengine.md."""
    raw = filled.post_data(step_key)
    for f in form.step(step_key).fields:
        if f.key not in filled.answers:
            continue
        if f.type != "repeat":
            _fill_field(page, f, top_loc(f), raw, filled, files_dir)
            continue
        items = filled.answers[f.key]
        count = page.locator(f"[name='{f.key}__count']")
        while int(count.input_value() or 0) < len(items):
            before = int(count.input_value() or 0)
            page.locator(f"button[name='_action'][value='add:{f.key}']").click()
            page.wait_for_function(
                "([name, n]) => Number(document.querySelector(`[name='${name}']`).value) > n",
                arg=[f"{f.key}__count", before],
            )
        for i, item in enumerate(items):
            for child in f.fields:
                if child.key in item:
                    _fill_field(page, child, child_loc(f, i, child), raw, filled, files_dir)


def _fill_field(page, f: Field, loc, raw: dict, filled: Filled, files_dir) -> None:
    if f.type == "file":
        paths = []
        for i, (name, content, _type) in enumerate(filled.files.get(loc.name, [])):
            # one folder per file, so the resident's file name is the generated one
            folder = files_dir / f"{loc.name}-{i}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_bytes(content)
            paths.append(str(path))
        page.locator(f"input[type='file'][name='{loc.name}']").set_input_files(paths)
        return
    for name, _is_list in TYPES[f.type].input_names(f, loc):
        value = raw.get(name)
        if value in (None, "", []):
            continue
        element = page.locator(f"[name='{name}']")
        first = element.first
        kind = (first.get_attribute("type") or "").lower()
        if kind == "radio":
            page.locator(f"[name='{name}'][value='{value}']").check()
        elif kind == "checkbox":
            wanted = value if isinstance(value, list) else [value]
            for box in element.all():
                if box.get_attribute("value") in wanted:
                    box.check()
        elif first.evaluate("e => e.tagName") == "SELECT":
            first.select_option(str(value))
        else:
            first.fill(str(value))
    if f.type == "postal_code" and f.address_field:
        address_name = loc.name[: -len(f.key)] + f.address_field
        # the page looks the address up as the code is typed; wait for it, then the address
        # field's own turn types the full address over it
        page.wait_for_function(
            "name => document.querySelector(`[name='${name}']`).value.length > 0",
            arg=address_name,
        )
