"""URL arguments of the linkage screens for the isolation harness
(tests/tenants/test_isolation.py): a layout of the world's procedure, a finished batch with
a file, and a result import, all of the world's municipality."""

from django.core.files.base import ContentFile


def _layout(world):
    from madoguchi.linkage.models import Layout

    layout, _ = Layout.objects.get_or_create(
        procedure=world.procedure,
        name="isolation",
        defaults={
            "municipality": world.municipality,
            "columns": [{"header": "受付番号", "source": "receipt_number"}],
        },
    )
    return layout


def _batch(world):
    from madoguchi.linkage.models import Batch

    layout = _layout(world)
    batch = Batch.objects.create(
        municipality=world.municipality, layout=layout, state=Batch.State.DONE, exported=1
    )
    batch.file.save("isolation.csv", ContentFile(f"{world.target.receipt_number}\r\n".encode()))
    batch.manifest_file.save("isolation.csv.manifest.json", ContentFile(b"{}"))
    return batch


def _result_import(world):
    from madoguchi.linkage.models import ResultImport

    job = ResultImport(
        municipality=world.municipality,
        layout=_layout(world),
        uploaded_by=world.admin,
        state=ResultImport.State.DONE,
        report=[{"line": 1, "receipt_number": "x", "status": "完了", "ok": False, "result": "-"}],
    )
    job.file.save("result.csv", ContentFile(b"x,completed\r\n"), save=False)
    job.save()
    return job


ARGUMENTS = {
    "layout_id": lambda world: [_layout(world).pk],
    "batch_id": lambda world: [_batch(world).pk],
    "result_import_id": lambda world: [_result_import(world).pk],
}
