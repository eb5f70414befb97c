"""Login, password reset, user settings and the LA administrator's user pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from keystage.accounts import access
from keystage.accounts.actions import (
    ScopeError,
    do_change_user_role,
    do_change_user_settings,
    do_create_user,
    do_record_login,
    do_set_password,
    do_set_user_active,
    do_unlock_user,
)
from keystage.accounts.forms import (
    LoginForm,
    NewPasswordForm,
    ResetRequestForm,
    UserAddForm,
    UserEditForm,
    UserSettingsForm,
)
from keystage.accounts.models import Role
from keystage.accounts.throttle import with_locked_out
from keystage.core.inputs import choice_param, text_param
from keystage.core.pagination import paginate


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        do_record_login(form.get_user())
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = ResetRequestForm
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")

    def get_form_kwargs(self):
        # The form limits emails per account and requests per source address.
        return {**super().get_form_kwargs(), "request": self.request}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = NewPasswordForm
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form):
        # Saved through the action so the reset is in the audit log and lifts any lockout.
        do_set_password(
            form.user, form.cleaned_data["new_password1"], acting_user=form.user, via_reset=True
        )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return redirect(self.success_url)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        for field in form.fields.values():
            field.widget.attrs["class"] = "govuk-input govuk-input--width-20"
        return form

    def form_valid(self, form):
        from django.contrib.auth import update_session_auth_hash

        do_set_password(
            self.request.user, form.cleaned_data["new_password1"], acting_user=self.request.user
        )
        update_session_auth_hash(self.request, self.request.user)
        messages.success(self.request, "Your password has been changed.")
        return redirect(self.success_url)


@login_required
@require_http_methods(["GET", "POST"])
def user_settings(request):
    """The user's own settings: page size, and a link to change the password."""
    form = UserSettingsForm(request.POST or None, initial={"page_size": request.user.page_size})
    if request.method == "POST" and form.is_valid():
        do_change_user_settings(
            request.user, page_size=form.cleaned_data["page_size"], acting_user=request.user
        )
        messages.success(request, "Your settings have been saved.")
        return redirect("accounts:settings")
    return render(request, "accounts/settings.html", {"form": form})


@login_required
def user_list(request):
    """The LA's users, searchable and paged."""
    users = access.access_users(request.user)
    query = text_param(request, "q")
    if query:
        users = users.filter(
            Q(username__icontains=query) | Q(first_name__icontains=query)
            | Q(last_name__icontains=query) | Q(email__icontains=query)
            | Q(school__name__icontains=query)
        )
    role = choice_param(request, "role", Role.values, default="")
    if role:
        users = users.filter(role=role)
    grid = paginate(request, with_locked_out(users).order_by("username"))
    return render(request, "accounts/user_list.html", {
        "grid": grid, "query": query, "role": role, "roles": Role.choices,
    })


@login_required
@require_http_methods(["GET", "POST"])
def user_add(request):
    """Add a user to the LA and email them a link to set their password."""
    la = access.access_user_la(request.user, "manage-users")
    schools = access.access_schools(request.user).order_by("name")
    form = UserAddForm(request.POST or None, schools=schools)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = do_create_user(
                data["username"], role=data["role"], la=la, school=data["school"],
                email=data["email"], first_name=data["first_name"], last_name=data["last_name"],
                acting_user=request.user,
            )
        except (ScopeError, ValueError) as error:
            form.add_error(None, str(error))
        else:
            # Django's reset form skips users with no usable password: send the link directly.
            _send_invitation_email(request, user)
            messages.success(request, f"{user.username} has been added and emailed a link to "
                             "set their password.")
            return redirect("accounts:user-list")
    return render(request, "accounts/user_add.html", {"form": form})


def _send_invitation_email(request, user) -> None:
    """Invite a new user to Keystage with a link to set their first password."""
    from django.contrib.auth.tokens import default_token_generator
    from django.contrib.sites.shortcuts import get_current_site
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    site = get_current_site(request)
    context = {
        "email": user.email, "domain": site.domain, "site_name": "Keystage",
        "uid": urlsafe_base64_encode(force_bytes(user.pk)), "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": "https" if request.is_secure() else "http",
    }
    ResetRequestForm().send_mail(
        "accounts/invitation_subject.txt", "accounts/invitation_email.txt",
        {**context, "invited_by": request.user, "organisation": user.organisation_name},
        None, user.email,
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_edit(request, user_id: int):
    """Change a user's role or school, disable or enable them, or lift a lockout."""
    target = access.access_user_by_id(request.user, user_id)
    schools = access.access_schools(request.user).order_by("name")
    form = UserEditForm(
        request.POST or None, schools=schools,
        initial={"role": target.role, "school": target.school, "is_active": target.is_active},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # All or nothing: a refused change must not leave the earlier ones saved.
            with transaction.atomic():
                if data["role"] != target.role or data["school"] != target.school:
                    do_change_user_role(target, data["role"], school=data["school"],
                                        acting_user=request.user, reason=data["reason"])
                if data["is_active"] != target.is_active:
                    do_set_user_active(target, data["is_active"], acting_user=request.user,
                                       reason=data["reason"])
                if data["unlock"] and target.failed_login_count:
                    do_unlock_user(target, acting_user=request.user, reason=data["reason"])
        except (ScopeError, ValueError) as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{target.username} has been updated.")
            return redirect("accounts:user-list")
    return render(request, "accounts/user_edit.html", {"form": form, "target": target})
