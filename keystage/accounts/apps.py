from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "keystage.accounts"
    label = "accounts"

    def ready(self):
        from axes.signals import user_locked_out

        user_locked_out.connect(_audit_lockout, dispatch_uid="keystage-audit-lockout")


def _audit_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    if getattr(request, "keystage_already_locked", False):
        return

    from keystage.accounts.actions import do_record_lockout
    from keystage.accounts.throttle import cool_off_of_new_lockout

    do_record_lockout(
        username or "", ip_address=ip_address, cool_off=cool_off_of_new_lockout(request)
    )
