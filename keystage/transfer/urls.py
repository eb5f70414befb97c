from django.urls import path

from keystage.transfer import views

app_name = "transfer"

urlpatterns = [
    path("", views.home, name="home"),
    path("files/<int:transfer_id>/download/", views.download, name="download"),
    path("files/<int:transfer_id>/", views.transfer_file, name="file"),
    path("notices/<int:notice_id>/dismiss/", views.dismiss, name="notice-dismiss"),
    path("lost/", views.lost_register, name="lost"),
    path("lost/<int:lost_id>/", views.lost_pupil, name="lost-pupil"),
    path("lost/matches/<int:match_id>/", views.decide_match, name="lost-match"),
    path("messages/", views.threads, name="messages"),
    path("messages/new/", views.new_thread, name="message-new"),
    path("messages/<int:thread_id>/", views.thread, name="thread"),
    path("agencies/", views.agencies, name="agencies"),
    path("extracts/", views.extracts, name="extracts"),
    path("extracts/<int:extract_id>/download/", views.extract_download,
         name="extract-download"),
]
