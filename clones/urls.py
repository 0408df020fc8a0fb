from django.urls import include, path

from clones import clip_views, views

app_name = "clones"

urlpatterns = [
    path("", views.task_list, name="task-list"),
    path("new/", views.task_create, name="task-create"),
    path("check-url/", views.task_check_url, name="task-check-url"),
    path("compare/", views.task_compare, name="task-compare"),
    path("compare/keep/<int:pk>/", views.task_compare_keep, name="task-compare-keep"),
    path("export/", views.task_export, name="task-export"),
    path("refresh/", views.task_rows, name="task-rows"),
    path("<int:pk>/", views.task_detail, name="task-detail"),
    path("<int:pk>/resend/", views.task_resend, name="task-resend"),
    path("<int:pk>/fix/", views.task_fix, name="task-fix"),
    path("<int:pk>/edit/", views.task_edit, name="task-edit"),
    path("<int:pk>/archive/", views.task_archive, name="task-archive"),
    path("<int:pk>/restore/", views.task_restore, name="task-restore"),
    path("<int:pk>/audio/", views.task_audio, name="task-audio"),
    path("time-zone/", views.time_zone_edit, name="time-zone"),
    # Clips checked before they are sent (issue 11).
    path("clips/", clip_views.clip_upload, name="clip-upload"),
    path("clips/link/", clip_views.clip_link, name="clip-link"),
    path("clips/reading-texts/", clip_views.clip_reading_texts, name="reading-texts"),
    path("clips/<uuid:token>/", clip_views.clip_check, name="clip-check"),
    path("clips/<uuid:token>/audio/", clip_views.clip_audio, name="clip-audio"),
    path("<int:pk>/clip/", clip_views.task_clip, name="task-clip"),
    # Speech with a voice, and keeping voices (issue 12).
    path("", include("clones.speech_urls")),
]
