from django.urls import path

from keystage.collection import views

app_name = "collection"

urlpatterns = [
    path("", views.completeness_page, name="completeness"),
    path("upload/", views.upload, name="upload"),
    path("batches/<int:job_id>/", views.batch, name="batch"),
    path("batches/<int:job_id>/confirm/", views.confirm_batch, name="batch-confirm"),
    path("submissions/", views.submission_list, name="submissions"),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission"),
    path("files/<int:file_id>/", views.download_original, name="download"),
    path("export/", views.export_results, name="export"),
    path("indicators/", views.indicators_page, name="indicators"),
    path("notices/<int:notice_id>/dismiss/", views.dismiss_notice, name="notice-dismiss"),
]
