"""Forms for the schools register pages."""

from __future__ import annotations

import datetime as dt

from django import forms

from keystage.core.forms import GovukFormMixin
from keystage.schools.models import Establishment
from keystage.years import academic_year_label

STATUS_CHOICES = [
    (s, s) for s in ("Open", "Open, but proposed to close", "Proposed to open", "Closed")
]


class EstablishmentEditForm(GovukFormMixin, forms.ModelForm):
    status = forms.ChoiceField(choices=STATUS_CHOICES)
    reason = forms.CharField(
        label="Reason for the change", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit log with the old and new values.",
    )

    class Meta:
        model = Establishment
        fields = ["name", "type_name", "phase", "status", "low_age", "high_age", "open_date",
                  "close_date", "postcode"]
        widgets = {"open_date": forms.DateInput(), "close_date": forms.DateInput()}

    def clean(self):
        data = super().clean()
        low, high = data.get("low_age"), data.get("high_age")
        if low is not None and high is not None and low > high:
            self.add_error("high_age", "The highest age must be at least the lowest age.")
        if data.get("status") == "Closed" and not data.get("close_date"):
            self.add_error("close_date", "Enter the date the school closed.")
        return data


class PviSettingForm(GovukFormMixin, forms.Form):
    urn = forms.RegexField(
        label="EY URN", regex=r"^[567][0-9]{5}$",
        help_text="The setting's 6-digit early years URN from Ofsted, starting 5, 6 or 7.",
        error_messages={"invalid": "Enter an EY URN: 6 digits starting with 5, 6 or 7."},
    )
    name = forms.CharField(label="Setting name", max_length=200)
    postcode = forms.CharField(max_length=10, required=False)
    reason = forms.CharField(
        label="Why it is added", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    # A URN already in the register is refused by do_add_pvi_setting, which knows the user's LA
    # and so never tells them that another LA holds it.


class GiasUploadForm(GovukFormMixin, forms.Form):
    extract = forms.FileField(
        label="GIAS extract (CSV)",
        help_text="The 'all establishment data' CSV downloaded from Get Information about "
        "Schools, saved as CSV UTF-8. Only your local authority's rows are loaded.",
        error_messages={"required": "Choose the CSV file you downloaded from GIAS."},
    )


def _year_choices():
    this_year = dt.date.today().year
    return [(y, academic_year_label(y + 1)) for y in range(this_year - 6, this_year + 2)]


class CurrentYearForm(GovukFormMixin, forms.Form):
    start_year = forms.TypedChoiceField(
        label="Current academic year", coerce=int, choices=_year_choices,
        help_text="The year your collections, cleaning and returns work in by default.",
    )
