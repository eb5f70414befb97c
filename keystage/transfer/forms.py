"""The transfer and lost-pupils pages' forms."""

from __future__ import annotations

from django import forms

from keystage.collection.forms import MultipleFileField
from keystage.core.forms import GovukFormMixin


class SendForm(GovukFormMixin, forms.Form):
    files = MultipleFileField(
        label="Common transfer files",
        help_text="CTFs (XML) exported from your MIS for pupils who are leaving, or a ZIP of "
        "them. The destination is read from each file: XXX and XXXX if nobody knows where the "
        "pupil went.",
        error_messages={"required": "Choose the CTFs to send."})
    school = forms.ChoiceField(label="Send as school", required=False)

    def __init__(self, *args, schools=None, **kwargs):
        super().__init__(*args, **kwargs)
        if schools is None:
            del self.fields["school"]  # a school user sends as their own school
        else:
            self.fields["school"].required = True
            self.fields["school"].choices = [("", "Choose the sending school")] + [
                (s.laestab, f"{s.name} ({s.laestab})") for s in schools]


class RejectForm(GovukFormMixin, forms.Form):
    reason = forms.CharField(label="Why is the file rejected?", max_length=300,
                             help_text="The sending school sees this, for example 'this pupil "
                             "never joined us'.")


class RouteForm(GovukFormMixin, forms.Form):
    laestab = forms.RegexField(label="Route to school (LAESTAB)", regex=r"^\d{7}$",
                               error_messages={"invalid": "Give a seven-digit LAESTAB."})
    reason = forms.CharField(label="Why this school", max_length=300)


class FoundForm(GovukFormMixin, forms.Form):
    laestab = forms.CharField(label="School where the pupil is now (LAESTAB)", max_length=7,
                              required=False, help_text="Leave empty if the pupil is not at a "
                              "school in England.")
    note = forms.CharField(label="How was the pupil found?", max_length=300)


class DecideForm(GovukFormMixin, forms.Form):
    decision = forms.ChoiceField(label="Is this the lost pupil?", widget=forms.RadioSelect,
                                 choices=[("confirm", "Yes, the same child"),
                                          ("reject", "No, a different child")])
    reason = forms.CharField(label="Why", max_length=300)


class NewThreadForm(GovukFormMixin, forms.Form):
    to = forms.CharField(label="To", max_length=7, required=False,
                         help_text="A school of your LA (its seven-digit LAESTAB) or another LA "
                         "(its three-digit number).")
    subject = forms.CharField(label="Subject", max_length=200,
                              help_text="Do not put a pupil's name here: emails never carry it, "
                              "but a short subject is easier to find.")
    upn = forms.CharField(label="About pupil (UPN)", max_length=20, required=False)
    body = forms.CharField(label="Message", max_length=5000, widget=forms.Textarea)

    def __init__(self, *args, school_user: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if school_user:
            del self.fields["to"]  # a school writes to its LA
        else:
            self.fields["to"].required = True


class ReplyForm(GovukFormMixin, forms.Form):
    body = forms.CharField(label="Reply", max_length=5000, widget=forms.Textarea)


class AgencyForm(GovukFormMixin, forms.Form):
    name = forms.CharField(label="Agency name", max_length=200)
    kind = forms.ChoiceField(label="Kind of agency", choices=())
    email = forms.EmailField(label="Contact email", required=False)

    def __init__(self, *args, **kwargs):
        from keystage.transfer.models import AgencyKind

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = AgencyKind.choices


class LinkAgencyForm(GovukFormMixin, forms.Form):
    reference = forms.CharField(label="Reference another LA gave the agency", max_length=20)


class ExtractForm(GovukFormMixin, forms.Form):
    agency = forms.ChoiceField(label="Agency")
    year = forms.TypedChoiceField(label="Pupils of the year", coerce=int)
    school = forms.CharField(label="A school's roll (LAESTAB)", max_length=7, required=False)
    upns = forms.CharField(label="Or these pupils (UPNs, one per line)", required=False,
                           max_length=20000, widget=forms.Textarea)
    fields = forms.MultipleChoiceField(label="Fields", widget=forms.CheckboxSelectMultiple)
    purpose = forms.CharField(label="Why the agency needs it", max_length=300)

    def __init__(self, *args, agencies=(), years=(), **kwargs):
        from keystage.transfer.agencies import AGENCY_FIELDS

        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [(a.pk, str(a)) for a in agencies]
        self.fields["year"].choices = [(y, str(y)) for y in years]
        self.fields["fields"].choices = [(f, f) for f in AGENCY_FIELDS]
