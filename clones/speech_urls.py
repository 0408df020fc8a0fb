"""Routes for speech and for keeping voices (issue 12), included into clones/urls.py's "clones" namespace."""

from django.urls import path

from clones import speech_views

urlpatterns = [
    path("speech/", speech_views.speech_list, name="speech-list"),
    path("speech/refresh/", speech_views.speech_rows, name="speech-rows"),
    path("speech/<int:pk>/", speech_views.speech_detail, name="speech-detail"),
    path("speech/<int:pk>/audio/", speech_views.speech_audio, name="speech-audio"),
    path("speech/<int:pk>/subtitles/", speech_views.speech_subtitles, name="speech-subtitles"),
    path("<int:pk>/speech/new/", speech_views.speech_create, name="speech-create"),
    path("<int:pk>/keep/", speech_views.voice_keep, name="voice-keep"),
    path("<int:pk>/in-use/", speech_views.voice_mark_in_use, name="voice-mark-in-use"),
]
