"""Forms of the staff UI. Validation of archival data is the services' job; these only shape input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from lantai.web import labels

FILTER_FIELDS = (
    "title",
    "author",
    "document_number",
    "classification",
    "retention",
    "open_status",
    "code_prefix",
)


def _with_blank(choices: list[tuple[Any, str]], blank: str) -> list[tuple[Any, str]]:
    return [("", blank), *choices]


class RecordFilterForm(forms.Form):
    code_prefix = forms.CharField(label=_("档号开头"), required=False, max_length=100)
    title = forms.CharField(label=_("题名"), required=False, max_length=200)
    author = forms.CharField(label=_("责任者"), required=False, max_length=200)
    document_number = forms.CharField(label=_("文号"), required=False, max_length=200)
    classification = forms.ChoiceField(label=_("密级"), required=False)
    retention = forms.ChoiceField(label=_("保管期限"), required=False)
    open_status = forms.ChoiceField(label=_("开放状态"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        every = str(_("全部"))
        self.fields["classification"].choices = _with_blank(
            labels.vocab_choices("classification"), every
        )
        self.fields["retention"].choices = _with_blank(labels.vocab_choices("retention"), every)
        self.fields["open_status"].choices = _with_blank(labels.vocab_choices("open_status"), every)

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {}
        return {k: v for k in FILTER_FIELDS if (v := (self.cleaned_data.get(k) or "").strip())}


class UploadForm(forms.Form):
    category = forms.ChoiceField(label=_("导入到（全宗 · 门类）"))
    file = forms.FileField(label=_("目录文件（.xlsx 或 .csv）"))

    def __init__(self, *args: Any, categories: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            (
                str(c.pk),
                f"{c.fonds.code} {c.fonds.name} · {c.code} {labels.category_name(c.code)}",
            )
            for c in categories
        ]


class UserCreateForm(forms.Form):
    username = forms.RegexField(
        label=_("用户名"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        error_messages={"invalid": _("用户名只能包含字母、数字和 @/./+/-/_ 字符。")},
    )
    display_name = forms.CharField(label=_("姓名"), max_length=150, required=False)
    password = forms.CharField(label=_("初始密码"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("确认密码"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return data


class PasswordResetForm(forms.Form):
    password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("确认新密码"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return data


class GrantForm(forms.Form):
    role = forms.ChoiceField(label=_("角色"))
    clearance = forms.TypedChoiceField(label=_("涉密等级"), coerce=int)
    scope_all = forms.BooleanField(label=_("可访问全部档案馆"), required=False)
    repositories = forms.MultipleChoiceField(
        label=_("可访问档案馆"), required=False, widget=forms.CheckboxSelectMultiple
    )
    fonds = forms.MultipleChoiceField(
        label=_("可访问全宗"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(
        self, *args: Any, repositories: list[Any], fonds: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = labels.role_choices()
        self.fields["clearance"].choices = [
            (level, f"{level} {label}") for level, label in labels.clearance_choices()
        ]
        self.fields["repositories"].choices = [
            (str(r.pk), f"{r.code} {r.name}") for r in repositories
        ]
        self.fields["fonds"].choices = [
            (str(f.pk), f"{f.repository.name} · {f.code} {f.name}") for f in fonds
        ]
