from django.urls import path

from clones import views

app_name = "clones"

urlpatterns = [
    path("", views.task_list, name="task-list"),
    path("new/", views.task_create, name="task-create"),
    path("refresh/", views.task_refresh, name="task-refresh"),
    path("<int:pk>/", views.task_detail, name="task-detail"),
    path("<int:pk>/resend/", views.task_resend, name="task-resend"),
]
