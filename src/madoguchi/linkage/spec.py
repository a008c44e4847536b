"""The columns of a layout as text: one column per line, written by a 管理者 in a textarea.

    見出し | 出典 | 設定=値 | 設定=値 ...

    受付番号 | receipt_number | width=12
    性別     | gender         | width=1 | map=male:1,female:2
    生年月日 | birth_date     | width=7 | date=wareki_digit
    金額     | amount         | width=8 | align=right | pad=zero
    予備     | const:         | width=10

出典 (source): a field key of the procedure's form, ``repeat.N.child`` for the N-th (1-based)
item of a repeat, one of `formatting.FIXED_SOURCES`, or ``const:値`` for a fixed value.
設定: width, align (left/right), pad (space/zero/zenkaku), date (see `formatting`), map
(``変換前:変換後`` pairs separated by commas; an empty 変換前 maps the empty value).
Blank lines and lines starting with # are ignored. See docs/linkage.md.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from .formatting import ALIGNS, CONST_PREFIX, DATE_STYLES, FIXED_SOURCES, PADS, ColumnSpec

OPTIONS = ("width", "align", "pad", "date", "map")
PAD_ALIASES = {
    "0": "zero",
    "　": "zenkaku",
    "全角": "zenkaku",
    "全角空白": "zenkaku",
    "空白": "space",
}


def source_keys(form) -> tuple[set[str], dict[str, set[str]]]:
    """(plain field keys, {repeat key: child keys}) of a FormSchema (None → nothing)."""
    plain: set[str] = set()
    repeats: dict[str, set[str]] = {}
    if form is None:
        return plain, repeats
    for step in form.steps:
        for f in step.fields:
            if f.type == "notice":
                continue
            if f.type == "repeat":
                repeats[f.key] = {c.key for c in f.fields if c.type != "notice"}
            else:
                plain.add(f.key)
    return plain, repeats


def source_is_known(source: str, form) -> bool:
    if source in FIXED_SOURCES or source.startswith(CONST_PREFIX):
        return True
    plain, repeats = source_keys(form)
    if source in plain:
        return True
    parts = source.split(".")
    return (
        len(parts) == 3
        and parts[0] in repeats
        and parts[1].isdigit()
        and int(parts[1]) >= 1
        and parts[2] in repeats[parts[0]]
    )


def _parse_map(text: str) -> dict[str, str] | None:
    table: dict[str, str] = {}
    for pair in text.split(","):
        if ":" not in pair:
            return None
        key, value = pair.split(":", 1)
        table[key.strip()] = value.strip()
    return table


def parse(text: str, *, form=None, fixed: bool = False) -> tuple[list[dict], list[str]]:
    """(columns as dicts, error messages). Columns are only meaningful without errors."""
    columns: list[dict] = []
    errors: list[str] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2 or not parts[1]:
            errors.append(
                _("%(line)d行目: 「見出し | 出典」の形で、見出しと出典を書いてください。")
                % {"line": number}
            )
            continue
        header, source = parts[0], parts[1]
        if not source_is_known(source, form):
            errors.append(
                _("%(line)d行目: 「%(source)s」はこの手続の項目にも、固定の出典にもありません。")
                % {"line": number, "source": source}
            )
        spec: dict = {"header": header, "source": source}
        for option in parts[2:]:
            if not option:
                continue
            name, sep, value = option.partition("=")
            name, value = name.strip().lower(), value.strip()
            if not sep or name not in OPTIONS:
                errors.append(
                    _("%(line)d行目: 「%(option)s」は指定できる設定ではありません。")
                    % {"line": number, "option": option}
                )
                continue
            if name == "width":
                if not value.isdigit() or int(value) < 1 or int(value) > 10000:
                    errors.append(
                        _("%(line)d行目: 幅（width）は1から10000までの整数で指定してください。")
                        % {"line": number}
                    )
                    continue
                spec["width"] = int(value)
            elif name == "align":
                if value not in ALIGNS:
                    errors.append(
                        _("%(line)d行目: 寄せ（align）は left か right で指定してください。")
                        % {"line": number}
                    )
                    continue
                spec["align"] = value
            elif name == "pad":
                value = PAD_ALIASES.get(value, value)
                if value not in PADS:
                    errors.append(
                        _(
                            "%(line)d行目: 埋め文字（pad）は space・zero・zenkaku"
                            "のいずれかで指定してください。"
                        )
                        % {"line": number}
                    )
                    continue
                spec["pad"] = value
            elif name == "date":
                if value not in DATE_STYLES:
                    errors.append(
                        _("%(line)d行目: 日付の形式（date）は %(styles)s のいずれかです。")
                        % {"line": number, "styles": "・".join(DATE_STYLES)}
                    )
                    continue
                spec["date"] = value
            elif name == "map":
                table = _parse_map(value)
                if table is None:
                    errors.append(
                        _(
                            "%(line)d行目: コード変換（map）は「変換前:変換後」を"
                            "カンマで区切って書いてください。"
                        )
                        % {"line": number}
                    )
                    continue
                spec["map"] = table
        if fixed and "width" not in spec:
            errors.append(_("%(line)d行目: 固定長では幅（width）が必要です。") % {"line": number})
        columns.append(ColumnSpec.from_dict(spec).to_dict())
    if not columns and not errors:
        errors.append(_("列を1行以上書いてください。"))
    return columns, errors


def render(columns: list[dict]) -> str:
    """The columns back as text (the inverse of `parse`)."""
    lines = []
    for data in columns:
        spec = ColumnSpec.from_dict(data)
        parts = [spec.header, spec.source]
        if spec.width:
            parts.append(f"width={spec.width}")
        if spec.align != "left":
            parts.append(f"align={spec.align}")
        if spec.pad != "space":
            parts.append(f"pad={spec.pad}")
        if spec.date:
            parts.append(f"date={spec.date}")
        if spec.map:
            parts.append("map=" + ",".join(f"{k}:{v}" for k, v in spec.map.items()))
        lines.append(" | ".join(parts))
    return "\n".join(lines)
