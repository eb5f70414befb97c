from django.urls import path

from keystage.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("national/", views.national, name="national"),
]
