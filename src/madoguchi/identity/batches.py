"""Import batches of the resident-record files (the registry extract and 番号紐付情報): the
report of one import, refusing a file as a whole, and the 宛名番号 rule both importers share."""

import re
import unicodedata
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from ._imports import LineError
from .models import IdentityImportBatch

HEX, DEC = "hex", "dec"
SERIAL_NOTATIONS = {HEX: "16進", DEC: "10進"}
ATENA_RE = re.compile("[0-9A-Za-z]{1,32}")


def normalize_atena(value: str) -> str:
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        raise ValueError(_("宛名番号がありません。"))
    if not ATENA_RE.fullmatch(text):
        raise ValueError(
            _("宛名番号「%(value)s」は英数字32桁以内で書いてください。") % {"value": value}
        )
    return text


@dataclass
class ImportReport:
    batch: IdentityImportBatch
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.batch.result == IdentityImportBatch.Result.APPLIED

    @property
    def refused(self) -> bool:
        return self.batch.result == IdentityImportBatch.Result.REFUSED

    def summary(self) -> str:
        b = self.batch
        if b.result == IdentityImportBatch.Result.REFUSED:
            return _("取り込みませんでした（取込番号 %(pk)d）。理由：") % {"pk": b.pk} + "".join(
                f"\n  {error}" for error in self.errors
            )
        if b.kind == IdentityImportBatch.Kind.RESIDENT_REGISTRY:
            return _(
                "取込番号 %(pk)d：住民 %(applied)d 人を取り込みました（前回の抽出 %(old)d 人を置き換え）。"
            ) % {"pk": b.pk, "applied": b.applied_count, "old": b.invalidated_count}
        text = _(
            "取込番号 %(pk)d：%(lines)d行のうち、取込 %(applied)d行、変更なし %(unchanged)d行、"
            "取込不可 %(refused)d行。無効にした紐付 %(invalidated)d件、"
            "新しい証明書により有効期間を終えた紐付 %(closed)d件。"
        ) % {
            "pk": b.pk,
            "lines": b.line_count,
            "applied": b.applied_count,
            "unchanged": b.unchanged_count,
            "refused": b.refused_count,
            "invalidated": b.invalidated_count,
            "closed": b.closed_count,
        }
        if b.serial_notation:
            text += _("シリアル番号は%(notation)sとして読みました。") % {
                "notation": SERIAL_NOTATIONS.get(b.serial_notation, b.serial_notation)
            }
        return text + "".join(f"\n  {error}" for error in self.errors)


def refuse(batch: IdentityImportBatch, content: bytes, errors: list[LineError]) -> ImportReport:
    batch.result = IdentityImportBatch.Result.REFUSED
    batch.errors = [e.as_dict() for e in errors]
    batch.refused_count = len({e.line for e in errors if e.line})
    batch.quarantined_file.save("quarantine", ContentFile(content), save=False)
    batch.save()
    return ImportReport(batch=batch, errors=errors)
