from django.urls import path

from keystage.returns import views

app_name = "returns"

urlpatterns = [
    path("", views.return_list, name="list"),
    path("make/", views.make_return, name="make"),
    path("<int:return_id>/", views.return_detail, name="detail"),
    path("<int:return_id>/download/", views.download_return, name="download"),
    path("moderation/", views.moderation_list, name="moderation"),
    path("moderation/<str:urn>/", views.moderation_export, name="moderation-school"),
]
