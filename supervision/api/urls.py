from django.urls import path

from supervision.api import views

urlpatterns = [
    path("queues/", views.QueueReportView.as_view(), name="api-report-queues"),
    path("agents/", views.AgentReportView.as_view(), name="api-report-agents"),
    path("days/", views.DayReportView.as_view(), name="api-report-days"),
]
