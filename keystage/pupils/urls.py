from django.urls import path

from keystage.pupils import views

app_name = "pupils"

urlpatterns = [
    path("", views.search, name="search"),
    path("review/", views.reviews, name="reviews"),
    path("review/<int:review_id>/decide/", views.decide, name="decide"),
    path("<int:pupil_id>/", views.detail, name="detail"),
    path("<int:pupil_id>/merge/", views.merge, name="merge"),
]
