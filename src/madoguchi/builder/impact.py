"""What publishing a new version affects, in words for the publish screen.

Applications keep the version they were filled with, so nothing breaks; but a field that is
removed, or whose type or options change, no longer matches what other parts of the system
were set up with: マイナポータル項目対応, the file-linkage layouts, and the KPI statistics of
input errors (counted per field key and version).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from madoguchi.applications.models import FINISHED_STATUSES, Application
from madoguchi.catalog.models import FormVersion, Procedure

from .schema_edit import FormDiff


def _mentions(value, keys: set[str]) -> set[str]:
    """Keys of `keys` that appear as a word in any string inside `value`."""
    found: set[str] = set()
    if isinstance(value, dict):
        for v in value.values():
            found |= _mentions(v, keys)
    elif isinstance(value, list):
        for v in value:
            found |= _mentions(v, keys)
    elif isinstance(value, str):
        words = set(re.split(r"[^a-z0-9_]+", value))
        found |= keys & words
    return found


def impact_warnings(
    procedure: Procedure, published: FormVersion | None, diff: FormDiff
) -> list[str]:
    if published is None:
        return []
    warnings: list[str] = []
    running = (
        Application.objects.filter(procedure=procedure)
        .exclude(status__in=FINISHED_STATUSES)
        .count()
    )
    if running:
        warnings.append(
            _(
                "この手続には、入力中・処理中の申請が%(count)s件あります。それらは今の版"
                "（第%(number)s版）のまま処理され、新しい版は公開後に始まる申請から使われます。"
            )
            % {"count": running, "number": published.number}
        )
    keys = diff.affected_keys
    if not keys:
        return warnings
    labels = {k: label for k, label in diff.removed}
    labels.update({c.key: c.label for c in diff.changed})

    def named(found: set[str]) -> str:
        return "、".join(f"「{labels.get(k, k)}」" for k in sorted(found))

    from madoguchi.channels.models import MynaportalMapping

    for mapping in MynaportalMapping.objects.filter(procedure=procedure):
        found = _mentions(mapping.items, keys)
        if found or (mapping.same_keys and keys):
            found = found or keys
            warnings.append(
                _(
                    "マイナポータル項目対応（手続コード %(code)s）が、削除または変更した"
                    "項目 %(fields)s を使っている可能性があります。公開後に項目対応を確認してください。"
                )
                % {"code": mapping.procedure_code, "fields": named(found)}
            )
    from madoguchi.linkage.models import Layout

    for layout in Layout.objects.filter(procedure=procedure):
        found = _mentions(layout.columns, keys)
        if found:
            warnings.append(
                _(
                    "ファイル連携のレイアウト「%(layout)s」が、削除または変更した項目 %(fields)s "
                    "を出力しています。公開後にレイアウトを直してください。"
                )
                % {"layout": layout.name, "fields": named(found)}
            )
    from madoguchi.analytics.models import ValidationFailure

    counted = set(
        ValidationFailure.objects.filter(form_version__procedure=procedure, field_key__in=keys)
        .values_list("field_key", flat=True)
        .distinct()
    )
    if counted:
        warnings.append(
            _(
                "指標（入力エラーの多い項目）に、削除または変更した項目 %(fields)s の"
                "これまでの件数があります。新しい版の件数は別に数えられます。"
            )
            % {"fields": named(counted)}
        )
    return warnings
