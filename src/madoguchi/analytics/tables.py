"""The dashboard's figures as tables: one list of tables serves the page (each chart is
followed by its table), the CSV and the XLSX download, so they always show the same figures.

Small-count suppression (exports only): a count from 1 to 4 is written as "*", and so is a
rate whose numerator is 1 to 4 (with the total shown it would give the count back) and a rate,
average or time computed over 1 to 4 cases (it could reveal one resident's case). 0 is
written as 0 (it identifies no one). See docs/opendata.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from madoguchi.applications.models import Channel, Status

SUPPRESS_BELOW = 5
SUPPRESSED = "*"


@dataclass
class Cell:
    value: object  # int, float, str or None
    kind: str = "text"  # text | count | rate | number (a figure over `base` cases)
    base: int | None = None  # for rate/number: how many cases it is computed over
    part: int | None = None  # for a rate: its numerator (a suppressed count stays hidden)

    def display(self, *, suppress: bool = False) -> str:
        value = self.value
        if suppress:
            if self.kind == "count" and isinstance(value, int) and 0 < value < SUPPRESS_BELOW:
                return SUPPRESSED
            if (
                self.kind in {"rate", "number"}
                and self.base is not None
                and 0 < self.base < SUPPRESS_BELOW
            ):
                return SUPPRESSED
            if self.kind == "rate" and self.part is not None and 0 < self.part < SUPPRESS_BELOW:
                return SUPPRESSED
        if value is None:
            return "" if suppress else "-"  # empty in files ("-" would read as a formula)
        if self.kind == "rate":
            return f"{value * 100:.1f}%"
        if isinstance(value, float):
            return f"{value:.1f}" if self.kind != "number" else f"{value:g}"
        return str(value)


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""

    def display_rows(self, *, suppress: bool = False) -> list[list[str]]:
        return [[cell.display(suppress=suppress) for cell in row] for row in self.rows]


def _t(value) -> Cell:
    return Cell(value)


def _n(value) -> Cell:
    return Cell(value, "count")


def _r(value, base, part=None) -> Cell:
    return Cell(value, "rate", base, part)


def _x(value, base) -> Cell:
    return Cell(value, "number", base)


def channel_labels() -> list[str]:
    return [str(Channel(c).label) for c in (Channel.PORTAL, Channel.MYNAPORTAL)] + [
        str(Channel(c).label) for c in (Channel.COUNTER, Channel.PAPER)
    ]


CHANNEL_ORDER = (Channel.PORTAL, Channel.MYNAPORTAL, Channel.COUNTER, Channel.PAPER)


def _channel_cells(row: dict) -> list[Cell]:
    return [
        *(_n(row[c.value]) for c in CHANNEL_ORDER),
        _n(row["total"]),
        _n(row["online"]),
        _r(row["online_rate"], row["total"], row["online"]),
    ]


def build(figures: dict) -> list[Table]:
    procedures = figures["procedures"]
    volume_headers = [*channel_labels(), _("合計"), _("オンライン"), _("オンライン利用率")]

    monthly = Table("volume_month", _("月別の申請件数（申請経路別）"), [_("月"), *volume_headers])
    for row in figures["volume"]["months"]:
        monthly.rows.append([_t(row["month"].strftime("%Y-%m")), *_channel_cells(row)])

    per_procedure = Table(
        "volume_procedure", _("手続別の申請件数とオンライン利用率"), [_("手続"), *volume_headers]
    )
    for pid, row in sorted(
        figures["volume"]["procedures"].items(), key=lambda item: procedures[item[0]].name
    ):
        per_procedure.rows.append([_t(procedures[pid].name), *_channel_cells(row)])
    per_procedure.rows.append([_t(_("合計")), *_channel_cells(figures["volume"]["total"])])

    per_department = Table(
        "volume_department", _("担当課別の申請件数"), [_("担当課"), *volume_headers]
    )
    for row in figures["departments"]:
        per_department.rows.append([_t(row["department"]), *_channel_cells(row)])

    timing = Table(
        "processing",
        _("受付から決定までの日数（完了・却下）"),
        [
            _("手続"),
            _("決定件数"),
            _("全体の中央値（日）"),
            _("全体の90%値（日）"),
            _("市区町村の処理の中央値（日）"),
            _("市区町村の処理の90%値（日）"),
            _("要再申請になった件数"),
            _("申請者の対応待ちの中央値（日）"),
            _("申請者の対応待ちの90%値（日）"),
            _("目標日数を超えた件数"),
        ],
        note=_("申請者の対応待ち（要再申請から再申請まで）は市区町村の処理時間に含めません。"),
    )

    def timing_cells(name: str, f: dict) -> list[Cell]:
        n = f["total"]["count"]
        w = f["waiting"]["count"]
        return [
            _t(name),
            _n(n),
            _x(f["total"]["median_days"], n),
            _x(f["total"]["p90_days"], n),
            _x(f["municipality"]["median_days"], n),
            _x(f["municipality"]["p90_days"], n),
            _n(f["returned_applications"]),
            _x(f["waiting"]["median_days"], w),
            _x(f["waiting"]["p90_days"], w),
            _n(f["late"]),
        ]

    for pid, f in sorted(
        figures["processing"]["procedures"].items(), key=lambda item: procedures[item[0]].name
    ):
        timing.rows.append(timing_cells(procedures[pid].name, f))
    timing.rows.append(timing_cells(_("合計"), figures["processing"]["total"]))

    backlog = figures["backlog"]
    backlog_table = Table(
        "backlog",
        _("未処理の申請（現在）"),
        [_("区分"), _("件数")],
        note=_("期限超過：処理期限（要再申請の期間を除く）を過ぎた未処理の申請"),
    )
    for status, n in backlog["by_status"].items():
        backlog_table.rows.append([_t(str(Status(status).label)), _n(n)])
    for bucket in backlog["buckets"]:
        if bucket["high"] is None:
            label = _("受付から%(low)d日以上") % {"low": bucket["low"]}
        else:
            label = _("受付から%(low)d〜%(high)d日") % bucket
        backlog_table.rows.append([_t(label), _n(bucket["count"])])
    backlog_table.rows.append([_t(_("期限超過")), _n(backlog["over_target"])])
    backlog_table.rows.append([_t(_("未処理の合計")), _n(backlog["count"])])
    backlog_table.rows.append(
        [_t(_("経過日数の中央値（日）")), _x(backlog["age"]["median_days"], backlog["count"])]
    )

    out = figures["outcomes"]
    outcome_table = Table("outcomes", _("処理結果"), [_("結果"), _("件数"), _("割合")])
    for status in (Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN):
        outcome_table.rows.append(
            [
                _t(str(status.label)),
                _n(out["counts"][status.value]),
                _r(out["rates"][status.value], out["total"], out["counts"][status.value]),
            ]
        )
    outcome_table.rows.append(
        [
            _t(_("再申請を求めた申請（期間中の受付分）")),
            _n(out["resubmission_requested"]),
            _r(out["resubmission_rate"], out["submitted"], out["resubmission_requested"]),
        ]
    )

    reasons = Table("reasons", _("要再申請の理由（多い順）"), [_("理由"), _("件数")])
    for row in out["reasons"]:
        reasons.rows.append([_t(row["message"]), _n(row["count"])])

    funnel = Table(
        "funnel",
        _("入力フォームの離脱（ポータルでの本人による申請）"),
        [_("手続"), _("段階"), _("到達した人数"), _("次に進まなかった人数"), _("離脱率")],
    )
    for f in figures["funnel"]:
        funnel.rows.append(
            [_t(f["procedure"]), _t(_("フォームを開いた")), _n(f["opened"]), _t(""), _t("")]
        )
        for step in f["steps"]:
            funnel.rows.append(
                [
                    _t(f["procedure"]),
                    _t(f"{step['index'] + 1}. {step['title']}"),
                    _n(step["reached"]),
                    _n(step["dropped"]),
                    _r(step["drop_rate"], step["reached"], step["dropped"]),
                ]
            )
        funnel.rows.append(
            [
                _t(f["procedure"]),
                _t(_("入力内容の確認")),
                _n(f["confirmation"]),
                _n(f["confirmation_dropped"]),
                _r(f["confirmation_drop_rate"], f["confirmation"], f["confirmation_dropped"]),
            ]
        )
        funnel.rows.append(
            [_t(f["procedure"]), _t(_("申請した")), _n(f["submitted"]), _t(""), _t("")]
        )

    validation = Table(
        "validation",
        _("入力エラーが多い項目"),
        [_("手続"), _("項目"), _("エラーの種類"), _("件数")],
        note=_("入力された値は記録していません。"),
    )
    for row in figures["validation"]:
        validation.rows.append(
            [_t(row["procedure"]), _t(row["field"]), _t(rule_label(row["rule"])), _n(row["count"])]
        )

    sat = figures["satisfaction"]
    satisfaction = Table("satisfaction", _("使いやすさの評価"), [_("評価"), _("件数")])
    for rating in range(5, 0, -1):
        satisfaction.rows.append([_t(rating_label(rating)), _n(sat["distribution"][rating])])
    satisfaction.rows.append([_t(_("回答数")), _n(sat["answered"])])
    satisfaction.rows.append([_t(_("平均（5点満点）")), _x(sat["average"], sat["answered"])])

    effort = Table(
        "effort",
        _("業務量（改革前との比較）"),
        [
            _("手続"),
            _("改革前：1件あたりの時間（分）"),
            _("改革前：年間件数"),
            _("改革前：年間の作業時間（時間）"),
            _("期間中の件数"),
            _("年間件数の見込み"),
            _("窓口・紙の割合"),
            _("受付から決定まで（中央値・日）"),
            _("備考"),
        ],
    )
    for row in figures["effort"]:
        effort.rows.append(
            [
                _t(row["procedure"]),
                _t(row["baseline_minutes"]),
                _t(row["baseline_yearly"]),
                _t(row["baseline_hours"]),
                _n(row["cases"]),
                _t(row["yearly_estimate"]),
                _r(row["counter_share"], row["cases"]),
                _x(row["median_days"], row["cases"]),
                _t(row["note"]),
            ]
        )
    return [
        monthly,
        per_procedure,
        per_department,
        timing,
        backlog_table,
        outcome_table,
        reasons,
        funnel,
        validation,
        satisfaction,
        effort,
    ]


RULE_LABELS = {
    "required": "未入力",
    "max_length": "文字数の超過",
    "format": "形式の誤り",
    "range": "範囲外の値",
    "date_range": "日付の範囲外",
    "date_impossible": "存在しない日付",
    "date_format": "日付の形式の誤り",
    "incomplete": "一部が未入力",
    "length": "桁数の誤り",
    "check_digit": "番号の誤り（検査用数字）",
    "era": "元号の誤り",
    "characters": "使えない文字",
    "choice": "選択肢にない値",
    "min_selected": "選択数の不足",
    "max_selected": "選択数の超過",
    "kana": "カタカナ以外の文字",
    "confirm_mismatch": "確認用の入力の不一致",
    "file_type": "ファイルの形式",
    "file_size": "ファイルの大きさ",
    "file_empty": "空のファイル",
    "file_count": "ファイルの数",
    "min_items": "件数の不足",
    "max_items": "件数の超過",
    "bank_unknown": "存在しない金融機関コード",
    "branch_unknown": "存在しない支店コード",
    # Codes recorded before the unknown-bank codes were split from the format ones.
    "bank_code": "金融機関コードの誤り",
    "branch_code": "支店コードの誤り",
    "postal_unknown": "該当する住所のない郵便番号",
}


def rule_label(rule: str) -> str:
    label = RULE_LABELS.get(rule)
    return f"{_(label)}（{rule}）" if label else rule


RATING_LABELS = {
    5: "とても使いやすい",
    4: "使いやすい",
    3: "ふつう",
    2: "使いにくい",
    1: "とても使いにくい",
}


def rating_label(rating: int) -> str:
    return f"{rating}：{_(RATING_LABELS[rating])}"
