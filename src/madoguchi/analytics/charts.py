"""Chart.js data for the dashboard, passed to the page as a JSON data block (never executed:
the page's CSP allows scripts from 'self' only). Every chart has its table on the page."""

from __future__ import annotations

from django.utils.translation import gettext as _

from madoguchi.applications.models import Channel

from .tables import CHANNEL_ORDER, rating_label


def chart_data(figures: dict) -> dict:
    months = figures["volume"]["months"]
    procedures = figures["procedures"]
    timing = sorted(
        figures["processing"]["procedures"].items(), key=lambda item: procedures[item[0]].name
    )
    funnel = figures["funnel"][0] if len(figures["funnel"]) == 1 else None
    sat = figures["satisfaction"]
    charts = {
        "volume": {
            "type": "line",
            "title": _("月別の申請件数（申請経路別）"),
            "labels": [m["month"].strftime("%Y年%m月") for m in months],
            "datasets": [
                {"label": str(Channel(c).label), "data": [m[c.value] for m in months]}
                for c in CHANNEL_ORDER
            ],
            "y": _("件数"),
            "whole_numbers": True,
        },
        "online_rate": {
            "type": "line",
            "title": _("オンライン利用率の推移"),
            "labels": [m["month"].strftime("%Y年%m月") for m in months],
            "datasets": [
                {
                    "label": _("オンライン利用率（%）"),
                    "data": [
                        None if m["online_rate"] is None else round(m["online_rate"] * 100, 1)
                        for m in months
                    ],
                }
            ],
            "y": "%",
            "max": 100,
        },
        "processing": {
            "type": "bar",
            "title": _("受付から決定までの日数（中央値）"),
            "labels": [procedures[pid].name for pid, _f in timing],
            "datasets": [
                {
                    "label": _("市区町村の処理（日）"),
                    "data": [f["municipality"]["median_days"] for _pid, f in timing],
                },
                {
                    "label": _("申請者の対応待ち（日）"),
                    "data": [f["waiting"]["median_days"] for _pid, f in timing],
                },
            ],
            "y": _("日"),
        },
        "satisfaction": {
            "type": "bar",
            "title": _("使いやすさの評価"),
            "labels": [rating_label(r) for r in range(5, 0, -1)],
            "datasets": [
                {"label": _("件数"), "data": [sat["distribution"][r] for r in range(5, 0, -1)]}
            ],
            "y": _("件数"),
            "whole_numbers": True,
        },
    }
    if funnel is not None:
        charts["funnel"] = {
            "type": "bar",
            "title": _("入力フォームの各段階に到達した人数"),
            "labels": [
                _("フォームを開いた"),
                *(f"{s['index'] + 1}. {s['title']}" for s in funnel["steps"]),
                _("入力内容の確認"),
                _("申請した"),
            ],
            "datasets": [
                {
                    "label": _("人数"),
                    "data": [
                        funnel["opened"],
                        *(s["reached"] for s in funnel["steps"]),
                        funnel["confirmation"],
                        funnel["submitted"],
                    ],
                }
            ],
            "y": _("人数"),
            "whole_numbers": True,
        }
    return charts
