"""JSON bodies the database can store: NUL (U+0000) and lone surrogates (JSON's \\ud800
escapes) are refused with 400 before any serializer sees them (madoguchi.core.boundary
strips them from form data; a machine client is told instead)."""

from rest_framework.parsers import JSONParser

from madoguchi.core.boundary import has_unstorable

from .problems import Problem

UNSTORABLE_DETAIL = (
    "リクエスト本文に使用できない文字（NUL 文字 \\u0000 または対になっていないサロゲート）が"
    "含まれています。"
)


def _holds_unstorable(value) -> bool:
    if isinstance(value, str):
        return has_unstorable(value)
    if isinstance(value, dict):
        return any(_holds_unstorable(k) or _holds_unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_unstorable(item) for item in value)
    return False


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _holds_unstorable(data):
            raise Problem(400, UNSTORABLE_DETAIL, "validation")
        return data
