from django.urls import path

from routing.api import views

urlpatterns = [
    path("", views.QueueListView.as_view(), name="api-queues"),
    path("<int:queue_id>/", views.QueueDetailView.as_view(), name="api-queue"),
]
