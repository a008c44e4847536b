"""Shared pieces of the field types: locations, the validation context and the base class."""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..schema import Field


@dataclass(slots=True, frozen=True)
class FieldError:
    """One problem with one field. `message` is a complete Japanese sentence."""

    path: str  # "key" or "children.1.birth_date"
    input_id: str  # HTML id of the input to focus: "f-children__1__birth_date__year"
    label: str  # field label, with 「児童（2人目）の」 prefix inside repeats
    message: str
    # Stable code of the rule that failed (required, max_length, format, range,
    # date_impossible, check_digit, file_type, file_size, ...): what the KPIs count per field,
    # never the value typed. Not part of equality, so errors compare by what the resident sees.
    rule: str = field(default="invalid", compare=False)


_TRAILING_NOTE_RE = re.compile(r"（[^（）]*）$")


@dataclass(slots=True, frozen=True)
class SummaryLine:
    """One line of the error summary at the top of a step: the text links to `input_id`."""

    input_id: str
    text: str


def summary_text(error: FieldError) -> str:
    """What the error summary says for one error: the field is always named, with its item
    inside a repeat (「児童（2人目）の個人番号：個人番号は12桁の数字で入力してください。」).
    A message that already names the field (「氏名の姓を入力してください。」) is kept as it is."""
    label = error.label.strip()
    # 「お客さま番号（水栓番号）」 is named by a message about 「お客さま番号」; the item of a
    # repeat (「児童（2人目）の…」) is at the start of the label and never dropped.
    short = _TRAILING_NOTE_RE.sub("", label)
    if not label or label in error.message or (short and short in error.message):
        return error.message
    return _("%(label)s：%(message)s") % {"label": label, "message": error.message}


def error_summary(errors: list[FieldError]) -> list[SummaryLine]:
    """The summary lines of a step's errors, in order. Two lines never read the same: the same
    error twice on one input is shown once, and two fields that share a label (a definition
    may repeat one) are told apart by their order on the page."""
    kept: list[tuple[FieldError, str]] = []
    seen: set[tuple[str, str]] = set()
    for error in errors:
        text = summary_text(error)
        if (error.path, text) not in seen:
            seen.add((error.path, text))
            kept.append((error, text))
    counts: dict[str, int] = {}
    for _error, text in kept:
        counts[text] = counts.get(text, 0) + 1
    lines: list[SummaryLine] = []
    numbers: dict[str, int] = {}
    for error, text in kept:
        if counts[text] > 1:
            numbers[text] = numbers.get(text, 0) + 1
            text = _("%(label)s（%(n)sつ目）：%(message)s") % {
                "label": error.label,
                "n": numbers[text],
                "message": error.message,
            }
        lines.append(SummaryLine(error.input_id, text))
    return lines


class UploadedFileLike(Protocol):
    name: str
    size: int

    def read(self, size: int = -1) -> bytes: ...

    def seek(self, offset: int, whence: int = 0) -> int: ...


@dataclass(slots=True, frozen=True)
class DetectedFile:
    """What the engine found out about an upload from its content."""

    kind: str  # pdf | jpeg | png | heic
    content_type: str  # application/pdf, image/jpeg, …
    extension: str  # pdf, jpg, png, heic
    size: int
    sha256: str
    name: str  # the resident's file name, without any directory part


StoreFile = Callable[[Field, Any, DetectedFile], dict]


@dataclass(slots=True, frozen=True)
class Loc:
    """Where a field sits: input name base, error path and label (with repeat prefix)."""

    name: str
    path: str
    label: str

    def input_name(self, part: str | None = None) -> str:
        return f"{self.name}__{part}" if part else self.name

    def input_id(self, part: str | None = None) -> str:
        return "f-" + self.input_name(part)


def top_loc(f: Field) -> Loc:
    return Loc(f.key, f.key, f.label)


def counted(number: int, counter: str) -> str:
    """「2人」: a number with the form's counter word (助数詞: 人, 件, 品目). Counter words are
    Japanese grammar: where the engine's own sentences are translated (English), the number
    stands alone; in Japanese (and languages whose UI falls back to Japanese) it keeps them."""
    language = get_language() or "ja"
    return str(number) if language == "en" or language.startswith("en-") else f"{number}{counter}"


def item_prefix_label(repeat: Field, index: int) -> str:
    """「児童（2人目）」 for item index 1 of a repeat of 児童."""
    return _("%(item)s（%(nth)s目）") % {
        "item": repeat.item_label,
        "nth": counted(index + 1, repeat.item_counter),
    }


def child_loc(repeat: Field, index: int, child: Field) -> Loc:
    # A child label that already starts with the item's name (「児童の個人番号」 in a repeat
    # of 児童) is not said twice: 「児童（2人目）の個人番号」, not 「児童（2人目）の児童の個人番号」.
    label = child.label
    own = f"{repeat.item_label}の"
    if label.startswith(own) and len(label) > len(own):
        label = label[len(own) :]
    return Loc(
        f"{repeat.key}__{index}__{child.key}",
        f"{repeat.key}.{index}.{child.key}",
        _("%(item)sの%(label)s") % {"item": item_prefix_label(repeat, index), "label": label},
    )


@dataclass(slots=True)
class Ctx:
    raw: Mapping[str, Any]
    uploads: Mapping[str, list] = field(default_factory=dict)
    store_file: StoreFile | None = None
    known_files: dict[str, dict] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    raw_out: dict | None = None  # raw values updated with newly stored files
    peek: bool = False  # only compute values (conditions on the render side); never store
    today: datetime.date | None = None

    def get(self, name: str) -> str:
        value = self.raw.get(name, "")
        if isinstance(value, list | tuple):
            value = value[-1] if value else ""
        return value if isinstance(value, str) else str(value)

    def getlist(self, name: str) -> list[str]:
        value = self.raw.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [str(value)]

    def error(
        self, loc: Loc, message: str, part: str | None = None, *, rule: str = "invalid"
    ) -> None:
        self.errors.append(FieldError(loc.path, loc.input_id(part), loc.label, message, rule))


_SPACE_RE = re.compile(r"[\s\u3000]+")


def clean_line(text: str) -> str:
    """One line of text: surrounding (full-width) spaces removed, line breaks made spaces."""
    text = unicodedata.normalize("NFC", text or "")
    if "\n" in text or "\r" in text or "\t" in text:
        text = re.sub(r"[\r\n\t]+", " ", text)
    return text.strip(" \u3000")


def clean_multiline(text: str) -> str:
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip(" \u3000\t") for line in text.split("\n")]
    return "\n".join(lines).strip("\n").strip(" \u3000")


def half_width(text: str) -> str:
    """NFKC (full-width digits and letters → ASCII), spaces removed."""
    return _SPACE_RE.sub("", unicodedata.normalize("NFKC", text or ""))


class FieldType:
    """Behaviour of one field type. Stateless; one instance per type."""

    parts: tuple[str, ...] = ()  # compound inputs: name `key__part`
    list_inputs: tuple[str | None, ...] = ()  # parts (None = the bare name) holding lists

    def input_names(self, f: Field, loc: Loc) -> list[tuple[str, bool]]:
        """(input name, holds a list) for everything this field posts."""
        if self.parts:
            names = [(loc.input_name(p), p in self.list_inputs) for p in self.field_parts(f)]
        else:
            names = [(loc.name, None in self.list_inputs)]
        return names

    def field_parts(self, f: Field) -> tuple[str, ...]:
        return self.parts

    def first_part(self, f: Field) -> str | None:
        parts = self.field_parts(f)
        return parts[0] if parts else None

    def validate(self, f: Field, loc: Loc, ctx: Ctx, required: bool) -> Any:
        raise NotImplementedError

    def to_raw(self, f: Field, value: Any, loc: Loc, out: dict) -> None:
        out[loc.name] = "" if value is None else str(value)

    def display(self, f: Field, value: Any) -> str:
        return str(value)

    def required_message(self, f: Field, loc: Loc) -> str:
        return _("%(label)sを入力してください。") % {"label": loc.label}
