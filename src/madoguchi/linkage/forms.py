"""The layout form: every setting of a layout, the columns as text (see `spec`)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.applications.models import Status

from . import formatting as fmt
from . import spec
from .models import Layout, ResultImport

STATUS_CHOICES = [(v, label) for v, label in Status.choices if v != Status.DRAFT]


class LayoutForm(forms.ModelForm):
    columns_text = forms.CharField(
        label=gettext_lazy("列（1行に1列）"),
        widget=forms.Textarea(attrs={"rows": 14, "cols": 80, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "「見出し | 出典 | 設定=値 | …」の形で、1行に1列ずつ書きます。"
            "例：「性別 | gender | width=1 | map=male:1,female:2」。"
            "設定は width（バイト数）・align（left/right）・pad（space/zero/zenkaku）・"
            "date（yyyymmdd/iso/wareki/wareki_digit/wareki_text）・map（変換前:変換後,…）です。"
        ),
    )
    statuses = forms.MultipleChoiceField(
        label=gettext_lazy("出力する処理状況"),
        choices=STATUS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "この処理状況の申請のうち、まだこの様式で出力していないものを出力します。"
        ),
    )
    schedule_hour = forms.IntegerField(
        label=gettext_lazy("定時実行の時刻（時）"),
        required=False,
        min_value=0,
        max_value=23,
        help_text=gettext_lazy(
            "0〜23。空欄のときは画面からの実行（またはコマンド）だけで作成します。"
        ),
    )

    class Meta:
        model = Layout
        fields = [
            "procedure",
            "name",
            "format",
            "encoding",
            "line_ending",
            "header_row",
            "on_error",
            "destination",
            "schedule_hour",
            "is_active",
        ]
        widgets = {
            "format": forms.RadioSelect,
            "encoding": forms.RadioSelect,
            "line_ending": forms.RadioSelect,
            "on_error": forms.RadioSelect,
            "destination": forms.RadioSelect,
        }

    def __init__(self, *args, procedures=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["procedure"]
            self.initial.setdefault("columns_text", spec.render(self.instance.columns))
            self.initial.setdefault("statuses", self.instance.statuses)
        else:
            self.fields["procedure"].queryset = procedures
            self.fields["procedure"].label = _("手続")
            self.initial.setdefault("statuses", ["received", "in_progress"])
            self.initial.setdefault(
                "columns_text",
                "受付番号 | receipt_number | width=11\n受付日 | submitted_at | width=8 | date=yyyymmdd",
            )

    def procedure(self):
        if self.instance.pk:
            return self.instance.procedure
        return self.cleaned_data.get("procedure")

    def clean(self):
        data = super().clean()
        procedure = self.procedure()
        fixed = data.get("format") == Layout.Format.FIXED
        if fixed:
            data["header_row"] = False  # fixed-length files carry no header line
        text = data.get("columns_text")
        if text is not None and procedure is not None:
            try:
                form = procedure.current_version.form if procedure.current_version else None
            except Exception:
                form = None
            columns, errors = spec.parse(text, form=form, fixed=fixed)
            encoding = data.get("encoding") or Layout.Encoding.UTF8
            if not errors and data.get("header_row"):
                for column in columns:
                    try:
                        fmt.encode(column["header"], encoding)
                    except fmt.CellError as exc:
                        errors.append(
                            _("見出し「%(header)s」: %(reason)s")
                            % {"header": column["header"], "reason": exc.reason}
                        )
            if errors:
                self.add_error("columns_text", errors)
            else:
                data["columns"] = columns
        return data

    def save(self, commit=True):
        layout = super().save(commit=False)
        layout.columns = self.cleaned_data["columns"]
        layout.statuses = list(self.cleaned_data["statuses"])
        if not layout.municipality_id:
            layout.municipality_id = layout.procedure.municipality_id
        if commit:
            layout.save()
        return layout


class ResultImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("処理結果ファイル（CSV）"),
        help_text=gettext_lazy(
            "1行に「受付番号,処理状況,メッセージ」。1行目が「受付番号」で始まるときは見出しとして読み飛ばします。"
        ),
    )
    encoding = forms.ChoiceField(
        label=gettext_lazy("文字コード"),
        choices=ResultImport.Encoding.choices,
        initial=ResultImport.Encoding.AUTO,
        widget=forms.RadioSelect,
    )

    MAX_BYTES = 20 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("ファイルが大きすぎます（20MBまで）。"))
        if upload.size == 0:
            raise forms.ValidationError(_("ファイルが空です。"))
        return upload
