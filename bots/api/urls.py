from django.urls import path

from bots.api import views

urlpatterns = [
    path("flows/", views.FlowListView.as_view(), name="api-bot-flows"),
    path("flows/import/", views.FlowImportView.as_view(), name="api-bot-flow-import"),
    path("flows/validate/", views.FlowValidateView.as_view(), name="api-bot-flow-validate"),
    path("flows/<slug:slug>/", views.FlowDetailView.as_view(), name="api-bot-flow"),
    path("flows/<slug:slug>/export/", views.FlowExportView.as_view(), name="api-bot-flow-export"),
    path(
        "flows/<slug:slug>/publish/", views.FlowPublishView.as_view(), name="api-bot-flow-publish"
    ),
]
