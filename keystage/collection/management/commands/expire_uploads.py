"""keystage expire-uploads: delete uploaded files that waited too long for confirmation."""

from django.conf import settings
from django.core.management.base import BaseCommand

from keystage.collection.actions import do_expire_waiting_uploads


class Command(BaseCommand):
    help = ("Delete uploaded files that have waited for confirmation of a replacement longer "
            "than KEYSTAGE_UPLOAD_WAITING_DAYS (the worker also does this every hour); each "
            "batch page then says its files expired.")

    def handle(self, *args, **options):
        expired = do_expire_waiting_uploads(acting_user=None)
        days = settings.KEYSTAGE_UPLOAD_WAITING_DAYS
        self.stdout.write(f"{len(expired)} batch{'es' if len(expired) != 1 else ''} had files "
                          f"waiting more than {days} days; their files were deleted.")
