"""Forms of the public portal and the reading-room pages. Validation rules live in services."""

from __future__ import annotations

import time
from typing import Any

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from lantai.access import services
from lantai.access.models import ID_TYPES, METHODS, PURPOSES

_STARTED_SALT = "lantai.access.request-form"
FORM_MAX_AGE = 4 * 3600  # a form left open longer than this is served again


def started_token(now: float | None = None) -> str:
    """A signed 'form served at' time, checked on submission (minimum fill time, expiry)."""
    return signing.dumps({"t": time.time() if now is None else now}, salt=_STARTED_SALT)


def seconds_since(token: str) -> float | None:
    try:
        value = signing.loads(token, salt=_STARTED_SALT, max_age=FORM_MAX_AGE)
        return time.time() - float(value["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


class RequestForm(forms.Form):
    applicant_name = forms.CharField(label=_("申请人姓名"), max_length=100)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=ID_TYPES, initial="resident_id")
    id_number = forms.CharField(label=_("证件号码"), max_length=32)
    phone = forms.CharField(
        label=_("联系电话"), max_length=32, help_text=_("用于查询办理进度，请填写手机或固定电话")
    )
    purpose = forms.ChoiceField(label=_("利用目的"), choices=PURPOSES, widget=forms.RadioSelect)
    purpose_detail = forms.CharField(
        label=_("利用目的说明"), max_length=500, required=False, widget=forms.Textarea({"rows": 2})
    )
    records = forms.TypedMultipleChoiceField(
        label=_("申请的档案"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    records_text = forms.CharField(
        label=_("其他所需档案"),
        max_length=4000,
        required=False,
        widget=forms.Textarea({"rows": 4}),
        help_text=_("未在开放目录中的档案，请写明档号、题名、年代或涉及的人和事"),
    )
    certified_copy = forms.BooleanField(
        label=_("需要出具证明（加盖档案馆印章的复制件）"), required=False
    )
    # bot traps: a field people never see, and the time the form was served
    website = forms.CharField(label=_("请勿填写此项"), required=False)
    started = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, record_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["records"].choices = record_choices
        autocomplete = {"applicant_name": "name", "phone": "tel", "id_number": "off"}
        for name, value in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = value
        self.fields["phone"].widget.attrs["inputmode"] = "tel"
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        problems = services.check_request(self.to_input())
        for field, message in problems.items():
            self.add_error(field if field in self.fields else None, message)
        return data

    def to_input(self) -> services.RequestInput:
        d = self.cleaned_data
        return services.RequestInput(
            applicant_name=d.get("applicant_name", ""),
            id_type=d.get("id_type", ""),
            id_number=d.get("id_number", ""),
            phone=d.get("phone", ""),
            purpose=d.get("purpose", ""),
            purpose_detail=d.get("purpose_detail", ""),
            record_ids=tuple(d.get("records") or ()),
            records_text=d.get("records_text", ""),
            certified_copy=bool(d.get("certified_copy")),
        )


class StatusForm(forms.Form):
    reference = forms.CharField(label=_("申请编号"), max_length=32)
    phone = forms.CharField(label=_("联系电话"), max_length=32)


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("办理意见"), required=False, max_length=2000, widget=forms.Textarea({"rows": 2})
    )


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label=_("拒绝理由"), max_length=2000, widget=forms.Textarea({"rows": 3})
    )


class ProvideForm(forms.Form):
    method = forms.ChoiceField(label=_("提供方式"), choices=METHODS)
    codes = forms.CharField(
        label=_("另行提供的档案（档号，每行一个）"),
        required=False,
        widget=forms.Textarea({"rows": 2}),
    )
    note = forms.CharField(
        label=_("备注"), required=False, max_length=2000, widget=forms.Textarea({"rows": 2})
    )


class RegisterForm(forms.Form):
    """利用登记 of a walk-in reader (no 查档申请)."""

    user_name = forms.CharField(label=_("利用者"), max_length=100)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=ID_TYPES, initial="resident_id")
    id_number = forms.CharField(label=_("证件号码"), max_length=32)
    purpose = forms.ChoiceField(label=_("利用目的"), choices=PURPOSES)
    purpose_detail = forms.CharField(label=_("利用目的说明"), max_length=500, required=False)
    codes = forms.CharField(
        label=_("提供的档案（档号，每行一个）"),
        required=False,
        widget=forms.Textarea({"rows": 3}),
    )
    records_text = forms.CharField(
        label=_("其他档案"), required=False, widget=forms.Textarea({"rows": 2})
    )
    method = forms.ChoiceField(label=_("提供方式"), choices=METHODS)
    certified_copy = forms.BooleanField(label=_("出具证明"), required=False)
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea({"rows": 2}))
