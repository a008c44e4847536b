"""Translation helper for developers.

    .venv/bin/python tools/i18n.py refresh            # makemessages + list what needs translating
    .venv/bin/python tools/i18n.py apply FILE.json    # set msgstr from {"msgid": "English"}, compile

Untranslated or fuzzy entries make tests/core/test_i18n.py fail, so nothing ships half-translated.
"""

import json
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "madoguchi"
PO_FILE = SRC / "locale" / "en" / "LC_MESSAGES" / "django.po"
MANAGE = [str(ROOT / ".venv" / "bin" / "madoguchi")]


def _manage(*args: str) -> None:
    # Django's own progress lines go to stderr so that `refresh > todo.json` stays valid JSON.
    subprocess.run(
        [*MANAGE, *args, "-l", "en", "--ignore", "*/migrations/*"],
        cwd=SRC,
        check=True,
        stdout=sys.stderr,
    )


def todo() -> list[str]:
    po = polib.pofile(str(PO_FILE))
    return [
        e.msgid
        for e in po
        if not e.obsolete
        and e.msgid
        and ("fuzzy" in e.flags or not (e.msgstr or any(e.msgstr_plural.values())))
    ]


def refresh() -> None:
    # No "#:" source locations: they change with every edit of a file and make .po merges
    # conflict; the msgid alone is searchable.
    _manage("makemessages", "--no-location")
    missing = todo()
    print(json.dumps({msgid: "" for msgid in missing}, ensure_ascii=False, indent=1))
    print(f"{len(missing)} entries need a translation", file=sys.stderr)


def apply(path: str) -> None:
    translations = json.loads(Path(path).read_text(encoding="utf-8"))
    po = polib.pofile(str(PO_FILE))
    for entry in po:
        if entry.msgid in translations and translations[entry.msgid]:
            entry.msgstr = translations[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            entry.previous_msgid = None
            entry.previous_msgid_plural = None
    po.save()
    # polib wraps lines differently from msgmerge: let makemessages write the file back in its
    # own layout, so that the next refresh changes nothing.
    _manage("makemessages", "--no-location")
    _manage("compilemessages")
    print(f"{len(todo())} entries still need a translation", file=sys.stderr)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "refresh"
    if command == "apply":
        apply(sys.argv[2])
    else:
        refresh()
