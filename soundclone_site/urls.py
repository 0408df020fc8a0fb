from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from clones import clip_views
from clones import views as clone_views
from soundclone_site.passwords import PasswordChangeForm
from soundclone_site.sign_in import SignInForm

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="clones:task-list", permanent=False)),
    path("tasks/", include("clones.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=SignInForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Staff change their own password here; a forgotten one is set again by an administrator (see login.html).
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(form_class=PasswordChangeForm),
        name="password_change",
    ),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", clone_views.healthz, name="healthz"),
    # The clip the voice service downloads: no sign-in, a signed and expiring link (clones/clips.py).
    path("clips/<str:signed>/<str:filename>", clip_views.clip_public, name="clip-public"),
    path("admin/", admin.site.urls),
]
