"""English UI through Django i18n: the language switcher, and a complete, compiled catalogue.

Japanese is the source language. Procedure contents (from the standard template YAML) are data:
they are translated per text by madoguchi.translations, not by this catalogue.
"""

import ast
import gettext
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

import madoguchi

SOURCE_DIR = Path(madoguchi.__file__).resolve().parent
PO_FILE = SOURCE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")

REFRESH = (
    "cd src/madoguchi && ../../.venv/bin/madoguchi makemessages -l en --no-location"
    " --ignore '*/migrations/*'"
    " && ../../.venv/bin/madoguchi compilemessages -l en --ignore '*/migrations/*'"
)

SEARCH_BUTTON_JA = "さがす"
SEARCH_BUTTON_EN = ">Search</button>"


@pytest.fixture(autouse=True)
def _back_to_default_language():
    """LocaleMiddleware leaves the last request's language active in the thread; do not let
    English leak into tests that run after these ones."""
    yield
    translation.deactivate()


# ---------------------------------------------------------------- a tiny .po parser


def _unquote(line: str) -> str:
    return ast.literal_eval(line.strip())


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr (a list), flags.
    Obsolete (#~) entries are skipped; the header (msgid "") is included."""
    entries: list[dict] = []
    entry: dict | None = None
    key: str | None = None

    def finish():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            entry, key = None, None
            continue
        if line.startswith("#~"):
            continue
        if entry is None:
            entry = {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"].update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            if key.startswith("msgstr"):
                entry["msgstr"][key] += _unquote(line)
            else:
                entry[key] += _unquote(line)
        else:
            key, _, value = line.partition(" ")
            if key.startswith("msgstr"):
                entry["msgstr"][key] = _unquote(value)
            else:
                entry[key] = _unquote(value)
    finish()
    return entries


def _messages(path: Path) -> list[dict]:
    return [e for e in parse_po(path) if e["msgid"]]


# ---------------------------------------------------------------- pages


@pytest.mark.django_db
def test_default_language_is_japanese(loaded_municipality):
    response = Client().get("/131016/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="ja">' in page
    assert f">{SEARCH_BUTTON_JA}</button>" in page
    assert SEARCH_BUTTON_EN not in page
    assert "表示言語を切り替える" in page


@pytest.mark.django_db
def test_accept_language_en_shows_english_ui(loaded_municipality):
    response = Client(headers={"accept-language": "en"}).get("/131016/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert SEARCH_BUTTON_EN in page
    assert "Search procedures by keyword" in page
    assert "Skip to main content" in page
    assert "Change language" in page
    # The municipality's name and procedure contents are data: they stay Japanese.
    assert "千代田区" in page


@pytest.mark.django_db
def test_language_switcher_form_is_accessible_and_script_free(loaded_municipality):
    page = Client().get("/131016/procedures/", {"q": "水道"}).content.decode()
    form = page[
        page.index('<form class="dads-language-switcher') : page.index("表示言語を切り替える")
    ]
    assert 'method="post" action="/i18n/setlang/"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    # Back to the same page, query string included.
    assert 'name="next" value="/131016/procedures/?q=%E6%B0%B4%E9%81%93"' in form
    assert '<label class="dads-label" for="madoguchi-language">' in form
    assert 'id="madoguchi-language" name="language"' in form
    assert '<option value="ja" lang="ja" selected>日本語</option>' in form
    assert '<option value="en" lang="en">English</option>' in form
    assert "<script" not in form and "style=" not in form and "onchange" not in form


@pytest.mark.django_db
def test_switching_to_english_and_back(loaded_municipality):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/131016/").content.decode()
    token = client.cookies["csrftoken"].value
    assert token and "csrfmiddlewaretoken" in page

    response = client.post(
        "/i18n/setlang/",
        {"language": "en", "next": "/131016/", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert response["Location"] == "/131016/"

    page = client.get("/131016/").content.decode()
    assert '<html lang="en">' in page
    assert SEARCH_BUTTON_EN in page
    assert '<option value="en" lang="en" selected>English</option>' in page
    # Other pages follow the chosen language too.
    page = client.get("/131016/procedures/").content.decode()
    assert "All procedures" in page and "Find a procedure" in page

    client.post(
        "/i18n/setlang/",
        {"language": "ja", "next": "/131016/", "csrfmiddlewaretoken": token},
    )
    page = client.get("/131016/").content.decode()
    assert '<html lang="ja">' in page
    assert f">{SEARCH_BUTTON_JA}</button>" in page


@pytest.mark.django_db
def test_set_language_refuses_an_offsite_next(loaded_municipality):
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")


@pytest.mark.django_db
def test_english_plurals(loaded_municipality):
    client = Client(headers={"accept-language": "en"})
    page = client.get("/131016/procedures/", {"q": "水道"}).content.decode()
    assert re.search(r">(1 procedure|[02-9]\d* procedures|1\d+ procedures) found<", page)
    page = client.get("/131016/procedures/?q=zzzzzzzz").content.decode()
    assert "0 procedures found" in page
    assert "No procedures match your search." in page


# ---------------------------------------------------------------- the catalogue


def test_every_message_is_translated():
    messages = _messages(PO_FILE)
    assert len(messages) > 250
    untranslated = [e["msgid"] for e in messages if not all(e["msgstr"].values())]
    assert untranslated == [], f"translate these in {PO_FILE}, then: {REFRESH}"
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert fuzzy == []
    header = next(e for e in parse_po(PO_FILE) if not e["msgid"])
    assert "fuzzy" not in header["flags"]
    assert "Language: en\n" in header["msgstr"]["msgstr"]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header["msgstr"]["msgstr"]


def test_placeholders_are_kept():
    placeholder = re.compile(r"%\(\w+\)s")
    for entry in _messages(PO_FILE):
        wanted = sorted(placeholder.findall(entry["msgid"]))
        for key, text in entry["msgstr"].items():
            assert sorted(placeholder.findall(text)) == wanted, (entry["msgid"], key, text)


def test_mo_is_compiled_from_the_current_po():
    """The .mo is committed (fresh machines may lack gettext); it must match the .po exactly.
    Refresh both with makemessages + compilemessages (see the project docs)."""
    with MO_FILE.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    expected = {}
    for entry in _messages(PO_FILE):
        msgid = entry["msgid"]
        if "msgctxt" in entry:
            msgid = f"{entry['msgctxt']}\x04{msgid}"
        if "msgid_plural" in entry:
            for key, text in entry["msgstr"].items():
                expected[(msgid, int(key[len("msgstr[") : -1]))] = text
        else:
            expected[msgid] = entry["msgstr"]["msgstr"]
    compiled = {k: v for k, v in catalog.items() if k != ""}
    assert compiled == expected, f"the .mo is stale; run: {REFRESH}"


def test_django_uses_the_translations():
    with translation.override("en"):
        assert translation.gettext("受付番号") == "Reference number"
        assert translation.gettext("要再申請") == "Returned for correction"
        assert translation.gettext("担当課") == "Department"
        assert (
            translation.ngettext("%(counter)s件の手続が見つかりました", "", 1) % {"counter": 1}
            == "1 procedure found"
        )
    with translation.override("ja"):
        assert translation.gettext("受付番号") == "受付番号"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_po_is_up_to_date_with_the_source(tmp_path, settings, monkeypatch):
    """Run makemessages on a copy of the source: it must find no new or removed strings.
    Fails when someone adds a translatable string without refreshing the catalogue."""
    copy = tmp_path / "madoguchi"
    shutil.copytree(
        SOURCE_DIR,
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "locale", "static", "migrations"),
    )
    target = copy / "locale" / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(PO_FILE, target / "django.po")
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["en"], ignore_patterns=["*/migrations/*"], verbosity=0)

    def ids(path):
        return sorted((e.get("msgctxt", ""), e["msgid"]) for e in _messages(path))

    assert ids(target / "django.po") == ids(PO_FILE), f"the .po is stale; run: {REFRESH}"
