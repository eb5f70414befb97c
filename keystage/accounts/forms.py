"""Forms for logging in, settings and the LA administrator's user pages."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.utils import timezone

from keystage.accounts.actions import do_record_failed_login
from keystage.accounts.models import LA_ROLES, Role, User
from keystage.accounts.throttle import client_address
from keystage.core.forms import GovukFormMixin


class LoginForm(GovukFormMixin, AuthenticationForm):
    """Log in; a wrong password, an unknown user and a throttled address get the same answer."""

    error_messages = {
        "invalid_login": "Enter a correct user name and password. Both are case-sensitive.",
        "inactive": "This account has been disabled. Ask your LA administrator.",
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        try:
            return super().clean()
        except forms.ValidationError:
            if getattr(self.request, "axes_locked_out", False):
                # django-axes refused the pair before any password was checked; say nothing more
                # than for a wrong password (its middleware answers with this very page).
                raise
            # The backend refuses disabled users like a wrong password; with the right password,
            # say the account is disabled (not a failed login) so they know whom to ask.
            user = User.objects.filter(username__iexact=username or "").first()
            password = self.cleaned_data.get("password") or ""
            if user is not None and not user.is_active and user.check_password(password):
                raise forms.ValidationError(
                    self.error_messages["inactive"], code="inactive"
                ) from None
            if username:
                do_record_failed_login(username, ip_address=client_address(self.request))
            raise


class ResetRequestForm(GovukFormMixin, PasswordResetForm):
    """Ask for a reset email; at most so many emails per account and requests per address."""

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def get_users(self, email):
        from keystage.accounts.models import PasswordResetRequest

        ip = client_address(self.request) if self.request is not None else None
        hour_ago = timezone.now() - dt.timedelta(hours=1)
        # Old rows are only needed for the last hour's counts.
        PasswordResetRequest.objects.filter(requested_at__lt=hour_ago).delete()
        from_address = PasswordResetRequest.objects.filter(
            ip_address=ip, requested_at__gte=hour_ago
        ).count()
        address_busy = ip is not None and from_address >= settings.PASSWORD_RESET_REQUESTS_PER_HOUR
        users = [] if address_busy else list(super().get_users(email))
        allowed = []
        for user in users:
            sent = PasswordResetRequest.objects.filter(
                user=user, email_sent=True, requested_at__gte=hour_ago
            ).count()
            if sent < settings.PASSWORD_RESET_EMAILS_PER_HOUR:
                allowed.append(user)
        PasswordResetRequest.objects.bulk_create(
            [PasswordResetRequest(ip_address=ip, user=user, email_sent=True) for user in allowed]
            or [PasswordResetRequest(ip_address=ip)]
        )
        return allowed


class NewPasswordForm(GovukFormMixin, SetPasswordForm):
    pass


class UserSettingsForm(GovukFormMixin, forms.Form):
    page_size = forms.TypedChoiceField(
        label="Rows per page in tables",
        help_text="Every table in Keystage shows this many rows per page.",
        choices=[(n, str(n)) for n in settings.PAGE_SIZE_CHOICES],
        coerce=int,
    )


LA_ROLE_CHOICES = [(r.value, r.label) for r in Role if r in LA_ROLES or r == Role.SCHOOL_USER]


class SchoolChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.identifier})"


# Least privileged first: the form starts on the narrowest role, never on the administrator.
_PRIVILEGE_ORDER = [
    Role.SCHOOL_USER, Role.LOST_PUPILS_OFFICER, Role.TRANSFER_OFFICER, Role.LA_ANALYST,
    Role.VIRTUAL_SCHOOL,
    Role.LA_DATA_OFFICER, Role.LA_ADMIN,
]
ADD_ROLE_CHOICES = sorted(
    LA_ROLE_CHOICES,
    key=lambda c: _PRIVILEGE_ORDER.index(c[0]) if c[0] in _PRIVILEGE_ORDER else 4.5,
)


class UserAddForm(GovukFormMixin, forms.Form):
    username = forms.CharField(
        label="User name", max_length=150,
        error_messages={"required": "Enter a user name",
                        "max_length": "User name must be 150 characters or fewer"},
    )
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(
        label="Email address",
        help_text="We email this address an invitation to set a password.",
        error_messages={"required": "Enter the user's email address",
                        "invalid": "Enter an email address in the correct format, like "
                                   "name@example.org"},
    )
    role = forms.ChoiceField(
        label="Role", choices=ADD_ROLE_CHOICES, initial=Role.SCHOOL_USER,
        error_messages={"required": "Select a role",
                        "invalid_choice": "Select a role from the list"},
    )
    school = SchoolChoiceField(
        label="School", queryset=None, required=False,
        help_text="Only for school users: the school whose data they may see.",
    )

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That user name is taken. Choose another.")
        return username

    def clean(self):
        data = super().clean()
        if data.get("role") == Role.SCHOOL_USER and not data.get("school"):
            self.add_error("school", "Select the school this school user works in.")
        if data.get("role") != Role.SCHOOL_USER and data.get("school"):
            self.add_error("school", "Only school users have a school. Leave this empty.")
        return data


class UserEditForm(GovukFormMixin, forms.Form):
    role = forms.ChoiceField(label="Role", choices=LA_ROLE_CHOICES)
    school = SchoolChoiceField(label="School", queryset=None, required=False,
                               help_text="Only for school users.")
    is_active = forms.BooleanField(
        label="Account enabled", required=False,
        help_text="A disabled user cannot log in. Their name stays in the audit log.",
    )
    unlock = forms.BooleanField(label="Unlock after failed logins", required=False)
    reason = forms.CharField(
        label="Reason for the change", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the audit log.",
    )

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools

    def clean(self):
        data = super().clean()
        if data.get("role") == Role.SCHOOL_USER and not data.get("school"):
            self.add_error("school", "Select the school this school user works in.")
        return data
