"""The URL map: one include per app."""

from django.urls import include, path

urlpatterns = [
    path("", include("keystage.core.urls")),
    path("accounts/", include("keystage.accounts.urls")),
    path("schools/", include("keystage.schools.urls")),
    path("audit/", include("keystage.audit.urls")),
    path("jobs/", include("keystage.jobs.urls")),
    path("collection/", include("keystage.collection.urls")),
    path("pupils/", include("keystage.pupils.urls")),
    path("social-care/", include("keystage.socialcare.urls")),
    path("transfer/", include("keystage.transfer.urls")),
    path("reports/", include("keystage.analysis.urls")),
    path("cleaning/", include("keystage.cleaning.urls")),
    path("returns/", include("keystage.returns.urls")),
]

handler403 = "keystage.core.errors.forbidden"
handler404 = "keystage.core.errors.not_found"
