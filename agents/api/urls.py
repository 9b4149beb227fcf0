from django.urls import path

from agents.api import views

urlpatterns = [
    path("", views.AgentListView.as_view(), name="api-agents"),
    path("<int:user_id>/", views.AgentDetailView.as_view(), name="api-agent"),
]
