from django.urls import path

from keystage.analysis import views

app_name = "analysis"

urlpatterns = [
    path("", views.report, name="report"),
]
