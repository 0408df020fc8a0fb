from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClonesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clones"
    verbose_name = _("Voice clones")
