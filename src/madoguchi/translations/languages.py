"""The languages a form's texts may be translated into, besides Japanese.

A resident chooses the language with the portal's switcher (Django's `set_language`; the
codes are in settings.LANGUAGES). Form texts come from the translations staff entered, text
by text, falling back to Japanese; the portal's own texts come from gettext catalogs (English
today; the other languages fall back to Japanese there too).

やさしい日本語 has no language subtag of its own: it is Japanese, so it is written `ja` with
the private-use extension `-x-easy` (BCP 47 allows `x-` subtags for private agreements).
Browsers and screen readers read `lang="ja-x-easy"` as Japanese, which is right.
"""

from django.conf import locale
from django.utils.translation import gettext_lazy as _

EASY_JAPANESE = "ja-x-easy"

# code -> (name in that language, name in Japanese for staff screens)
CONTENT_LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("English", "英語"),
    EASY_JAPANESE: ("やさしい日本語", "やさしい日本語"),
    "zh-hans": ("中文(简体)", "中国語（簡体字）"),
    "ko": ("한국어", "韓国語"),
    "vi": ("Tiếng Việt", "ベトナム語"),
    "pt": ("Português", "ポルトガル語"),
}
LANGUAGE_CODES = tuple(CONTENT_LANGUAGES)

STAFF_LANGUAGE_NAMES = {
    "en": _("英語"),
    EASY_JAPANESE: _("やさしい日本語"),
    "zh-hans": _("中国語（簡体字）"),
    "ko": _("韓国語"),
    "vi": _("ベトナム語"),
    "pt": _("ポルトガル語"),
}


def content_language(code: str | None) -> str | None:
    """The translation language for an active Django language code, or None (Japanese)."""
    if not code:
        return None
    code = code.lower()
    if code in CONTENT_LANGUAGES:
        return code
    base = code.split("-")[0]
    return base if base in CONTENT_LANGUAGES else None


def register_language_info() -> None:
    """Teach Django the name of やさしい日本語 (its language switcher lists `name_local`)."""
    locale.LANG_INFO.setdefault(
        EASY_JAPANESE,
        {
            "bidi": False,
            "code": EASY_JAPANESE,
            "name": "Easy Japanese",
            "name_local": "やさしい日本語",
        },
    )
