"""Forms of the collection pages."""

from __future__ import annotations

from django import forms

from keystage.collection.models import Collection
from keystage.core.forms import GovukFormMixin
from keystage.core.inputs import extra_fields
from keystage.years import academic_year_label


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern for multiple uploads)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        # An empty file is refused by name at import, not by the form: one bad file must
        # not reject the files sent with it.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            if not data:
                # No file chosen sends an empty list, which the single-file check lets pass.
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(GovukFormMixin, forms.Form):
    files = MultipleFileField(
        label="Files",
        help_text="CTF files (XML) from schools' MIS, school census XML, pupil premium, KS2, "
        "KS4 or KS5 results CSVs, an expected-cohorts CSV, or ZIPs of them. Choose several at "
        "once, or a ZIP of a folder. The kind of each file is read from its content.",
        error_messages={"required": "Choose the files or ZIP to upload."},
    )
    year = forms.TypedChoiceField(
        label="Assessment year", coerce=int,
        help_text="The summer in which the assessments were made.",
    )

    provisional = forms.BooleanField(
        label="These KS4 or KS5 results are early results (provisional)", required=False,
        help_text="Results loaded in August before the DfE's file: the reports say they are "
        "provisional until the DfE's file replaces them and lists the grades it changes.",
    )
    extra_fields = forms.CharField(
        label="Extra pupil fields", required=False, max_length=500,
        help_text="To load a CSV of your own pupil fields keyed by UPN and LAESTAB (a local "
        "young-carer flag, say), name the columns to keep, separated by commas; write "
        "Column=name to rename one. Other CSVs in the upload are read as usual.",
    )

    def __init__(self, *args, years, la_user: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [
            (y, f"Summer {y} ({academic_year_label(y)})") for y in years
        ]
        if not la_user:
            # Extra fields are the LA's own; schools send their MIS files only.
            del self.fields["extra_fields"]

    def clean_extra_fields(self):
        text = self.cleaned_data.get("extra_fields", "").strip()
        if not text:
            return None
        try:
            return extra_fields(text)
        except ValueError:
            raise forms.ValidationError("Name at least one column, e.g. Young carer") from None


class CollectionYearForm(GovukFormMixin, forms.Form):
    collection = forms.ChoiceField(choices=Collection.choices, required=False)
    year = forms.IntegerField(required=False)
