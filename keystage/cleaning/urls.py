from django.urls import path

from keystage.cleaning import views

app_name = "cleaning"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("run/", views.run_rules, name="run"),
    path("issues/", views.issue_list, name="issues"),
    path("schools/<str:urn>/", views.school_report, name="school"),
    path("pupils/<int:pupil_id>/", views.pupil_detail, name="pupil"),
    path("pupils/<str:collection>/<int:year>/<str:urn>/<str:upn>/", views.pupil_at,
         name="pupil-at"),
    path("pupils/<int:pupil_id>/edit/", views.pupil_edit, name="pupil-edit"),
    path("rules/", views.rule_catalogue, name="rules"),
]
