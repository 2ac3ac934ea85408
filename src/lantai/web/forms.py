"""Forms of the staff UI. Validation of archival data is the services' job; these only shape input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from lantai.catalog import services
from lantai.web import labels


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
        return {
            k: v for k in services.BROWSE_FILTERS if (v := (self.cleaned_data.get(k) or "").strip())
        }


IMPORT_LEVELS = [
    ("", _("按门类的整理方式（按件：文件目录；按卷：案卷目录）")),
    ("volume", _("案卷目录（按卷门类）")),
    ("volume_item", _("卷内文件目录（按卷门类，按档号归入案卷）")),
]


class UploadForm(forms.Form):
    category = forms.ChoiceField(label=_("导入到（全宗 · 门类）"))
    level = forms.ChoiceField(
        label=_("目录层次"),
        required=False,
        choices=IMPORT_LEVELS,
        help_text=_("按卷整理的门类先导入案卷目录，再导入卷内文件目录。"),
    )
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


class NewPasswordForm(forms.Form):
    """A new password typed twice (the forced change of an expired one, and PasswordChangeForm)."""

    password = forms.CharField(
        label=_("新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("确认新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return data


class PasswordChangeForm(NewPasswordForm):
    field_order = ["old_password", "password", "password2"]
    old_password = forms.CharField(
        label=_("原密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


# --- archival structure ---------------------------------------------------------------------------
class RepositoryForm(forms.Form):
    code = forms.CharField(
        label=_("档案馆代码"), max_length=32, help_text=_("如行政区划代码 620100")
    )
    name = forms.CharField(label=_("档案馆名称"), max_length=200)
    level = forms.ChoiceField(label=_("级别"))
    region = forms.CharField(label=_("行政区划"), max_length=100, required=False)
    is_default = forms.BooleanField(label=_("设为默认档案馆"), required=False)

    def __init__(self, *args: Any, levels: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = levels


class FondsForm(forms.Form):
    repository = forms.ChoiceField(label=_("档案馆"))
    code = forms.CharField(
        label=_("全宗号"), max_length=16, help_text=_("1–6 位大写字母或数字，如 Z109、J019")
    )
    name = forms.CharField(label=_("全宗名称"), max_length=200)
    creator = forms.CharField(
        label=_("立档单位"), max_length=200, required=False, help_text=_("留空则与全宗名称相同")
    )
    description = forms.CharField(
        label=_("全宗介绍"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, repositories: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["repository"].choices = [
            (str(r.pk), f"{r.code} {r.name}") for r in repositories
        ]


def rule_choice_label(rule: Any) -> str:
    custom = f" [{_('自定义')}]" if rule.custom else ""
    return f"{rule.name} · {rule.label}{custom} · {rule.template}"


class CategoryForm(forms.Form):
    code = forms.ChoiceField(label=_("门类（DA/T 13 门类代码）"))
    arrangement = forms.ChoiceField(label=_("整理方式"), required=False)
    code_rule = forms.ChoiceField(label=_("档号规则"), required=False)
    volume_item_rule = forms.ChoiceField(
        label=_("卷内文件档号规则"), required=False, help_text=_("仅按卷整理的门类使用")
    )

    def __init__(self, *args: Any, categories: list[Any], rules: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = [
            (c.code, f"{c.code} {labels.standard_category_label(c)}") for c in categories
        ]
        self.fields["arrangement"].choices = [
            ("", _("按门类代码表的默认方式")),
            ("item", _("按件")),
            ("volume", _("按卷")),
        ]
        default = ("", _("按门类代码表的默认规则"))
        self.fields["code_rule"].choices = [default] + [
            (r.name, rule_choice_label(r)) for r in rules
        ]
        self.fields["volume_item_rule"].choices = [default] + [
            (r.name, rule_choice_label(r)) for r in rules if r.arrangement == "volume"
        ]


class CodeRuleForm(forms.Form):
    name = forms.CharField(
        label=_("规则名称"),
        max_length=64,
        help_text=_("字母、数字、下划线、点或连字符，如 city-ws"),
    )
    label = forms.CharField(label=_("说明"), max_length=200, required=False)
    template = forms.CharField(
        label=_("模板"),
        max_length=200,
        help_text=_(
            "字段写作 {字段} 或 {字段:位数}，上下位之间用“-”，同级之间用“·”，"
            "如 {fonds}-{category}·{year}-{retention}-{item:4}"
        ),
    )
    arrangement = forms.ChoiceField(
        label=_("整理方式"), choices=[("item", _("按件")), ("volume", _("按卷"))]
    )


class CollectionForm(forms.Form):
    repository = forms.ChoiceField(label=_("档案馆"))
    code = forms.RegexField(
        label=_("专题代码"),
        max_length=32,
        regex=r"^[\w.-]+$",
        error_messages={"invalid": _("专题代码只能包含字母、数字、下划线、点或连字符。")},
    )
    name = forms.CharField(label=_("专题名称"), max_length=200)
    description = forms.CharField(
        label=_("专题介绍"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, repositories: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["repository"].choices = [
            (str(r.pk), f"{r.code} {r.name}") for r in repositories
        ]


class ComponentUploadForm(forms.Form):
    file = forms.FileField(label=_("电子文件"), allow_empty_file=True)
