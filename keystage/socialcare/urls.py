from django.urls import path

from keystage.socialcare import views

app_name = "socialcare"

urlpatterns = [
    path("", views.home, name="home"),
    path("returns/<int:return_id>/", views.care_return, name="return"),
    path("children/", views.children, name="children"),
    path("children/<int:child_id>/", views.child, name="child"),
    path("looked-after/", views.cohort, name="cohort"),
]
