from django.urls import path

from keystage.analysis import views

app_name = "analysis"

urlpatterns = [
    path("", views.report, name="report"),
    path("national/", views.national_report, name="national"),
    path("group/", views.group_page, name="group"),
    path("ks4/<str:urn>/", views.ks4_school, name="ks4-school"),
    path("ks5/<str:urn>/", views.ks5_school, name="ks5-school"),
    path("school/<str:urn>.pdf", views.school_pdf, name="school-pdf"),
    path("school/<str:urn>/", views.school_page, name="school"),
]
