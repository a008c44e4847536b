"""The procedure editor's form: every attribute of a procedure, in Japanese, checked with the
same rules and messages as the standard-template loader (`catalog.loader.check_procedure`)."""

import re

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.loader import TemplateError, check_procedure
from madoguchi.catalog.models import Category, IdentityLevel, LifeEvent, Procedure
from madoguchi.tenants.models import Department

# The procedure block's fields that are copied as they are (the template YAML and the editor
# share them; attachments, departments, retention and target days need shaping).
PROCEDURE_BLOCK_FIELDS = (
    "name",
    "reading",
    "category",
    "life_events",
    "keywords",
    "summary",
    "description",
    "eligibility",
    "what_you_need",
    "duration",
    "processing_time",
    "fee",
    "identity_level",
    "allows_proxy",
)


SLUG_RE = re.compile(r"[a-z][a-z0-9_-]{0,79}")

# The editor's fields in the order of the screen, with the help shown under each label.
HELP = {
    "name": _("住民の方に表示される手続の名前です。例：児童手当の認定請求"),
    "reading": _("手続名の読みを、ひらがなで入力してください。検索と並び順に使います。"),
    "category": _("手続の一覧で、どの分野に表示するかを選びます。"),
    "life_events": _("「出産」「引越し」などのライフイベントから探すときに表示されます。"),
    "keywords": _("手続名にない言葉でも検索できるよう、空白で区切って入力します。"),
    "summary": _("手続の一覧と手続の説明ページの先頭に表示する一文です。"),
    "description": _("手続の説明ページに表示します。空行で段落を分けます。"),
    "eligibility": _("申請できる方の条件を書きます。"),
    "what_you_need": _("申請の前に用意していただくもの（マイナンバーカード、口座情報など）。"),
    "required_attachments": _("添付していただく書類を1行に1つずつ入力します。"),
    "duration": _("例：約10分"),
    "processing_time": _("住民の方に表示する目安です。例：約2週間"),
    "target_days": _(
        "受付からこの日数を過ぎた未完了の申請は「期限超過」として表示されます（1〜365日）。"
    ),
    "fee": _("例：無料、300円"),
    "identity_level": _(
        "マイナンバーカードによる電子署名が必要な手続はマイナポータルから申請していただきます。"
    ),
    "allows_proxy": _("介護事業所などの事業者が申請者に代わって申請できるようにします。"),
    "departments": _("申請を受け付けて処理する課です。複数選べます。"),
    "open_from": _("空欄の場合は、公開するとすぐに受け付けます。"),
    "open_until": _("空欄の場合は、期限なく受け付けます。"),
    "retention_years": _("処理を終えた申請を保存する年数です（1〜100年）。"),
    "is_published": _("外すと、住民の方の手続一覧に表示されなくなります。"),
    "slug": _("手続のページのURLに使う半角英数字です。空欄の場合は自動で付けます。"),
}


class ProcedureForm(forms.ModelForm):
    """Create or edit a procedure of `municipality`. Editors restricted to some departments
    (`own_departments` not None) must keep at least one of them on the procedure."""

    life_events = forms.MultipleChoiceField(
        label=_("ライフイベント"),
        choices=LifeEvent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    required_attachments = forms.CharField(
        label=_("必要な添付書類"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    departments = forms.ModelMultipleChoiceField(
        label=_("担当課"),
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    category = forms.ChoiceField(
        label=_("分類"), choices=[("", "―")] + list(Category.choices), required=False
    )
    identity_level = forms.ChoiceField(
        label=_("本人確認の水準"),
        choices=IdentityLevel.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    slug = forms.CharField(label=_("識別子（URL）"), required=False, max_length=80)

    class Meta:
        model = Procedure
        fields = [
            "name",
            "reading",
            "category",
            "life_events",
            "keywords",
            "summary",
            "description",
            "eligibility",
            "what_you_need",
            "required_attachments",
            "duration",
            "processing_time",
            "target_days",
            "fee",
            "identity_level",
            "allows_proxy",
            "departments",
            "open_from",
            "open_until",
            "retention_years",
            "is_published",
        ]
        widgets = {
            "open_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "open_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 6}),
            "eligibility": forms.Textarea(attrs={"rows": 3}),
            "what_you_need": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, municipality, own_departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.municipality = municipality
        self.own_departments = own_departments
        self.fields["departments"].queryset = Department.objects.filter(
            municipality=municipality
        ).order_by("code")
        # Required-ness is the loader's rule (one message everywhere), not Django's.
        for name, field in self.fields.items():
            field.required = False
            # Lengths too: the loader's message, not Django's.
            field.validators = [
                v for v in field.validators if not isinstance(v, MaxLengthValidator)
            ]
            if name in HELP:
                field.help_text = HELP[name]
        if self.instance.pk:
            del self.fields["slug"]
            self.initial["required_attachments"] = "\n".join(
                self.instance.required_attachments or []
            )
        else:
            self.fields["slug"].help_text = HELP["slug"]
        dads_classes(self)

    def clean_slug(self):
        slug = (self.cleaned_data.get("slug") or "").strip()
        if slug and not SLUG_RE.fullmatch(slug):
            raise forms.ValidationError(
                _(
                    "識別子は半角英小文字で始め、半角英小文字・数字・「_」・「-」だけで80文字以内にしてください。"
                )
            )
        if slug and Procedure.objects.filter(municipality=self.municipality, slug=slug).exists():
            raise forms.ValidationError(_("この識別子はすでに使われています。"))
        return slug

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        departments = list(cleaned.get("departments") or [])
        block = {name: cleaned.get(name) for name in PROCEDURE_BLOCK_FIELDS}
        block["required_attachments"] = [
            line.strip()
            for line in (cleaned.get("required_attachments") or "").splitlines()
            if line.strip()
        ]
        block["departments"] = [d.code for d in departments]
        for name in ("retention_years", "target_days"):
            if cleaned.get(name) is not None:
                block[name] = cleaned[name]
        block = {k: v for k, v in block.items() if v is not None}
        known = set(self.fields["departments"].queryset.values_list("code", flat=True))
        try:
            values, _codes = check_procedure(self.instance.slug or "new", block, known)
        except TemplateError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, exc.problem)
            return cleaned
        cleaned.update(values)
        if self.own_departments is not None and not set(departments) & set(self.own_departments):
            names = "、".join(d.name for d in self.own_departments)
            self.add_error(
                "departments",
                _(
                    "担当課には、あなたが様式を作成できる課（%(names)s）を少なくとも1つ含めてください。"
                )
                % {"names": names},
            )
        return cleaned

    def _post_clean(self):
        if "retention_years" in self.cleaned_data and self.cleaned_data["retention_years"] is None:
            self.cleaned_data["retention_years"] = 5
        if self.cleaned_data.get("fee") is None:
            self.cleaned_data["fee"] = ""
        super()._post_clean()

    def save(self, commit=True):
        procedure = super().save(commit=False)
        procedure.municipality = self.municipality
        procedure.required_attachments = self.cleaned_data.get("required_attachments") or []
        if not procedure.pk:
            procedure.slug = self.cleaned_data.get("slug") or _free_slug(self.municipality)
        if commit:
            procedure.save()
            self.save_m2m()
        return procedure


def _free_slug(municipality) -> str:
    taken = set(
        Procedure.objects.filter(
            municipality=municipality, slug__startswith="tetsuzuki-"
        ).values_list("slug", flat=True)
    )
    n = len(taken) + 1
    while f"tetsuzuki-{n}" in taken:
        n += 1
    return f"tetsuzuki-{n}"


def dads_classes(form) -> None:
    """The design system's classes on every widget (no inline styles)."""
    for field in form.fields.values():
        widget = field.widget
        name = type(widget).__name__
        css = {"Textarea": "dads-textarea", "Select": "dads-select"}.get(name)
        if css is None and name in ("TextInput", "NumberInput", "DateInput", "EmailInput"):
            css = "dads-input"
        if css:
            widget.attrs["class"] = css
