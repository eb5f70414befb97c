"""The social care pages' forms: matching a child, leaving them, changing the cohort."""

from __future__ import annotations

from datetime import date

from django import forms

from keystage.core.forms import GovukFormMixin
from keystage.socialcare.models import CohortChange


class MatchForm(GovukFormMixin, forms.Form):
    pupil = forms.IntegerField(label="Keystage pupil number", min_value=1)
    reason = forms.CharField(label="Why", max_length=500)


class LeaveForm(GovukFormMixin, forms.Form):
    reason = forms.CharField(label="Why", max_length=500)


class ChangeForm(GovukFormMixin, forms.Form):
    child_id = forms.CharField(label="Child id (as in the 903)", max_length=40)
    change = forms.ChoiceField(label="What happened", choices=CohortChange.choices,
                               widget=forms.RadioSelect)
    on = forms.DateField(label="On (YYYY-MM-DD)")
    pupil = forms.IntegerField(label="Keystage pupil number, if known", required=False,
                               min_value=1)
    reason = forms.CharField(label="Why", max_length=300)

    def clean_on(self):
        value = self.cleaned_data["on"]
        if value > date.today():
            raise forms.ValidationError("The date cannot be in the future.")
        return value
