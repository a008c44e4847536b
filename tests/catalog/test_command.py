"""`madoguchi load_standard_templates`."""

import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from madoguchi.catalog import loader
from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Municipality

COUNT = len(loader.available_template_keys())


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("load_standard_templates", *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.mark.django_db
def test_loads_one_municipality_and_prints_progress(municipality, other_municipality):
    output = run("--municipality", "131016")

    lines = output.splitlines()
    assert lines[0] == "千代田区（131016）に標準様式を読み込みます。"
    assert sum(line.startswith("[新規作成] ") for line in lines) == COUNT
    assert (
        "[新規作成] suido_shiyou_kaishi（水道使用開始届）: 手続を作成し、第1版を公開しました"
        "（担当課: 水道課、下水道課）。"
    ) in lines
    assert any(
        line.startswith(f"千代田区（131016）: 新規作成 {COUNT}件、公開 0件、") for line in lines
    )
    assert lines[-1] == "標準様式の読み込みが完了しました。"
    assert Procedure.objects.filter(municipality=municipality).count() == COUNT
    assert not Procedure.objects.filter(municipality=other_municipality).exists()

    again = run("--municipality", "131016")
    assert (
        f"千代田区（131016）: 新規作成 0件、公開 0件、下書き作成 0件、変更なし {COUNT}件、失敗 0件。"
        in again
    )


@pytest.mark.django_db
def test_default_is_every_active_municipality(municipality, other_municipality):
    Municipality.objects.create(lg_code="131024", name="中央区", is_active=False)
    output = run("--template", "sodai_gomi", "inu_touroku")
    assert "合計: 2団体、新規作成 4件、公開 0件、下書き作成 0件、変更なし 0件、失敗 0件。" in output
    assert Procedure.objects.filter(municipality=other_municipality).count() == 2
    assert not Procedure.objects.filter(municipality__lg_code="131024").exists()


@pytest.mark.django_db
def test_template_option_can_be_repeated(municipality):
    run("--template", "sodai_gomi", "--template", "inu_touroku")
    assert sorted(Procedure.objects.values_list("slug", flat=True)) == ["inu_touroku", "sodai_gomi"]


@pytest.mark.django_db
def test_errors_in_arguments(municipality):
    with pytest.raises(
        CommandError,
        match=r"^全国地方公共団体コード「999997」の地方公共団体は登録されていません。$",
    ):
        run("--municipality", "999997")
    with pytest.raises(CommandError, match="検査数字が正しくありません"):
        run("--municipality", "131015")
    with pytest.raises(CommandError, match=r"^標準様式「gomi」はありません（ある標準様式: "):
        run("--template", "gomi")
    assert not Procedure.objects.exists()


@pytest.mark.django_db
def test_no_active_municipality():
    with pytest.raises(CommandError, match="有効な地方公共団体が登録されていません"):
        run()


@pytest.mark.django_db
def test_fails_when_a_template_cannot_be_loaded(municipality, tmp_path, monkeypatch):
    directory = tmp_path / "templates"
    shutil.copytree(loader.TEMPLATES_DIR, directory)
    broken = directory / "sodai_gomi.yaml"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("category: other", "category: gomi")
    )
    monkeypatch.setattr(loader, "TEMPLATES_DIR", directory)
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"^読み込めなかった標準様式が1件あります"):
        call_command("load_standard_templates", stdout=out)

    assert (
        "[失敗] sodai_gomi: 標準様式「sodai_gomi」の手続情報「category」: 分類「gomi」は使えません"
        "（使える値: childcare, nursing_care, disaster, moving, other）。"
    ) in out.getvalue().splitlines()
    assert Procedure.objects.count() == COUNT - 1


@pytest.mark.django_db
def test_publish_option(municipality, tmp_path, monkeypatch):
    directory = tmp_path / "templates"
    shutil.copytree(loader.TEMPLATES_DIR, directory)
    monkeypatch.setattr(loader, "TEMPLATES_DIR", directory)
    run("--template", "inu_touroku")
    path = directory / "inu_touroku.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("title: 犬の登録申請書", "title: 犬の登録申請"),
        encoding="utf-8",
    )

    drafted = run("--template", "inu_touroku")
    assert "[下書き作成] inu_touroku（犬の登録申請）" in drafted
    assert "下書きの版は、職員の管理画面で内容を確認してから公開してください。" in drafted

    published = run("--template", "inu_touroku", "--publish")
    assert (
        "[公開] inu_touroku（犬の登録申請）: 標準様式の内容を第2版として公開しました"
        "（第1版に代わって公開中になります）。"
    ) in published.splitlines()
    assert Procedure.objects.get(slug="inu_touroku").current_version.number == 2
