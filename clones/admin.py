from django.contrib import admin

from clones.models import Clip, CloneTask, PollerHeartbeat, SpeechTask, TaskChange, TaskEvent


class TaskEventInline(admin.TabularInline):
    model = TaskEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "http_status", "outcome", "duration_ms"]
    readonly_fields = fields
    ordering = ["-at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CloneTask)
class CloneTaskAdmin(admin.ModelAdmin):
    """Tasks for reading only: the record of what was sent and answered is never rewritten or deleted.

    Name and notes are changed on the studio's own pages, where every change is recorded; tasks are created
    by the form (the service must receive them) and archived, never deleted (README, "Archive").
    """

    list_display = ["name", "status", "sound_version", "language", "model_id", "submitted_by", "created_at"]
    list_filter = ["status", "sound_version", "language", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "notes", "model_id", "upstream_id", "file_url", "content_text"]
    date_hierarchy = "created_at"
    list_select_related = ["submitted_by"]
    readonly_fields = [
        "status",
        "upstream_id",
        "upstream_status",
        "model_id",
        "audio_url",
        "audio_file",
        "error",
        "last_response",
        "created_at",
        "sent_at",
        "finished_at",
        "updated_at",
        "next_poll_at",
        "last_polled_at",
        "poll_count",
        "send_attempts",
        "failed_polls",
        "consent_text",
        "consent_confirmed_at",
        "submitted_by",
        "archived_at",
        "archived_by",
        "pair_token",
        "clip",
        "clip_source",
        "clip_name",
        "clip_seconds",
        "clip_speech_seconds",
        "clip_start",
        "clip_end",
        "clip_file",
    ]
    inlines = [TaskEventInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # also takes "Delete selected" off the list's actions


class ReadOnlyAdmin(admin.ModelAdmin):
    """For reading only, as CloneTaskAdmin: the record is never rewritten or deleted from the admin."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SpeechTask)
class SpeechTaskAdmin(ReadOnlyAdmin):
    list_display = ["voice", "status", "emotion", "sound_version", "language", "submitted_by", "created_at"]
    list_filter = ["status", "emotion", "sound_version"]
    search_fields = ["content_text", "upstream_id", "voice__name", "voice__model_id"]
    date_hierarchy = "created_at"
    list_select_related = ["voice", "submitted_by"]


@admin.register(Clip)
class ClipAdmin(ReadOnlyAdmin):
    """The clips people gave the form and what their check found; voices keep a reference to theirs."""

    list_display = ["name", "source", "state", "owner", "created_at", "speech_seconds"]
    list_filter = ["source", "state", "problem"]
    search_fields = ["name", "link", "token"]
    date_hierarchy = "created_at"
    list_select_related = ["owner"]
    # The waveform (a thousand numbers) says nothing as text; the clip-check fragment draws it.
    exclude = ["peaks"]


@admin.register(TaskChange)
class TaskChangeAdmin(ReadOnlyAdmin):
    list_display = ["task", "action", "by", "at"]
    list_filter = ["action"]
    list_select_related = ["task", "by"]


@admin.register(PollerHeartbeat)
class PollerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seen"]
