"""Forms of the marriage-records pages: the requester at the counter (its proof fields come from the
rights rules in force), the search, the certificate and revocation steps, the import, the rules
and the issuer keys. Checks of substance live in the services; these forms only shape the input."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from lantai.access.models import ID_TYPES
from lantai.standards import marriage_rights

from . import finding, labels

PROOF_PREFIX = "proof_"
_LIST_SPLIT = re.compile(r"[\s,，、;；]+")


def proof_fields(ruleset: marriage_rights.Rules) -> list[marriage_rights.ProofKind]:
    """Proof kinds given as a reference (介绍信编号 …); the others count through the purpose or
    the approver's name fields (request_field)."""
    return [k for k in ruleset.proof_kinds.values() if k.request_field is None]


class RequesterForm(forms.Form):
    """Step 1: who asks, as whom, with which proof. ``request_id`` (prefilled from a 查档申请)
    stands in for an empty ID number, so the full number is never written into the page."""

    requester_type = forms.ChoiceField(label=_("查询人类别"))
    requester_name = forms.CharField(label=_("查询人姓名"), max_length=60)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=ID_TYPES, initial="resident_id")
    requester_id = forms.CharField(label=_("证件号码"), max_length=40, required=False)
    principal_id = forms.CharField(
        label=_("委托人（当事人）证件号码"), max_length=40, required=False,
        help_text=_("受托人查档：授权委托书所写当事人的身份证件号码"),
    )  # fmt: skip
    case_party_ids = forms.CharField(
        label=_("案件当事人证件号码或姓名"), max_length=500, required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("律师查档：法院证明材料所列当事人，每行一个"),
    )  # fmt: skip
    purpose = forms.CharField(label=_("查询目的"), max_length=500)
    approved_by = forms.CharField(
        label=_("审核领导"), max_length=150, required=False,
        help_text=_("其他单位和个人查档：批准查询的主管领导姓名"),
    )  # fmt: skip

    def __init__(
        self, *args: Any, ruleset: marriage_rights.Rules, prefilled_id: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.ruleset = ruleset
        self.prefilled_id = prefilled_id
        cast(forms.ChoiceField, self.fields["requester_type"]).choices = [
            (t.code, labels.label(t)) for t in ruleset.requester_types.values()
        ]
        if prefilled_id:
            self.fields["requester_id"].help_text = _(
                "留空则使用查档申请中的证件号码（%(masked)s）"
            ) % {"masked": prefilled_id}
        for kind in proof_fields(ruleset):
            self.fields[PROOF_PREFIX + kind.code] = forms.CharField(
                label=labels.label(kind), max_length=200, required=False,
                help_text=_("证明材料的编号或说明（如介绍信编号、公证书编号）"),
            )  # fmt: skip

    def proof_bound_fields(self) -> list[tuple[str, forms.BoundField]]:
        """(proof code, field) pairs, for the template to mark which types need which proof."""
        return [(k.code, self[PROOF_PREFIX + k.code]) for k in proof_fields(self.ruleset)]

    def proofs(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            k.code: data[PROOF_PREFIX + k.code].strip()
            for k in proof_fields(self.ruleset)
            if data.get(PROOF_PREFIX + k.code, "").strip()
        }

    def case_parties(self) -> list[str]:
        return [x for x in _LIST_SPLIT.split(self.cleaned_data.get("case_party_ids", "")) if x]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("requester_id") or "").strip() and not self.prefilled_id:
            self.add_error("requester_id", _("请填写查询人的证件号码"))
        return data


MODES = [("id", _("证件号码")), ("names", _("姓名和年份")), ("cert", _("结婚证/离婚证字号"))]


class SearchForm(forms.Form):
    """Step 2: one way in — an ID number, names (1–2) with a year ± years, or a certificate number.
    After a search the page shows a fresh form without the ID number (views_counter), so the
    full number is not written back into the page."""

    mode = forms.ChoiceField(label=_("查找方式"), choices=MODES, widget=forms.RadioSelect,
                             initial="id")  # fmt: skip
    id_number = forms.CharField(
        label=_("当事人证件号码"), max_length=40, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )  # fmt: skip
    name1 = forms.CharField(label=_("当事人姓名"), max_length=30, required=False)
    name2 = forms.CharField(label=_("另一方姓名"), max_length=30, required=False)
    year = forms.IntegerField(label=_("登记年份（约）"), min_value=1900, max_value=2100,
                              required=False)  # fmt: skip
    years = forms.IntegerField(label=_("年份误差（±年）"), min_value=0,
                               max_value=finding.MAX_YEARS, initial=2, required=False)  # fmt: skip
    cert_number = forms.CharField(label=_("结婚证/离婚证字号"), max_length=64, required=False)

    def criteria(self) -> finding.Criteria:
        d = self.cleaned_data
        mode = d["mode"]
        if mode == "id":
            return finding.Criteria(id_number=(d.get("id_number") or "").strip())
        if mode == "cert":
            return finding.Criteria(cert_number=(d.get("cert_number") or "").strip())
        names = tuple(n.strip() for n in (d.get("name1") or "", d.get("name2") or "") if n.strip())
        years = d.get("years")
        return finding.Criteria(names=names, year=d.get("year"),
                                years=2 if years is None else years)  # fmt: skip


class NoneFoundForm(forms.Form):
    subject_name = forms.CharField(label=_("当事人姓名"), max_length=30)


class RevokeRequestForm(forms.Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip


class ImportForm(forms.Form):
    fonds = forms.ChoiceField(label=_("导入到全宗"))
    file = forms.FileField(label=_("民政部门导出的文件（.xlsx 或 .csv）"))
    valid_rows_only = forms.BooleanField(label=_("仅导入有效行"), required=False)

    def __init__(self, *args: Any, fonds_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["fonds"]).choices = fonds_choices


class RulesForm(forms.Form):
    text = forms.CharField(label=_("规则文本（YAML）"),
                           widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}))  # fmt: skip
    note = forms.CharField(label=_("修改说明"), max_length=500)


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤回原因"), max_length=500)
    compromised_since = forms.DateTimeField(
        label=_("泄露时间（可选）"), required=False,
        help_text=_("填写则自该时间起签发的证明全部失效；不填则该密钥签发的一切证明都不再通过核验"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )  # fmt: skip
