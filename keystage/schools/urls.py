from django.urls import path

from keystage.schools import views

app_name = "schools"

urlpatterns = [
    path("", views.school_list, name="list"),
    path("add-pvi/", views.pvi_add, name="pvi-add"),
    path("import/", views.gias_import, name="import"),
    path("import/<int:import_id>/", views.import_detail, name="import-detail"),
    path("academic-year/", views.academic_year, name="academic-year"),
    path("<str:urn>/", views.school_detail, name="detail"),
    path("<str:urn>/edit/", views.school_edit, name="edit"),
]
