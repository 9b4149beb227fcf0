from django.urls import path

from integrations.api import views

urlpatterns = [
    path("", views.WebhookListView.as_view(), name="api-webhooks"),
    path("event-types/", views.EventTypesView.as_view(), name="api-webhook-event-types"),
    path("<int:webhook_id>/", views.WebhookDetailView.as_view(), name="api-webhook"),
    path(
        "<int:webhook_id>/rotate-secret/",
        views.WebhookSecretView.as_view(),
        name="api-webhook-rotate-secret",
    ),
    path("<int:webhook_id>/ping/", views.WebhookPingView.as_view(), name="api-webhook-ping"),
    path(
        "<int:webhook_id>/deliveries/",
        views.DeliveryListView.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "<int:webhook_id>/deliveries/<int:delivery_id>/",
        views.DeliveryDetailView.as_view(),
        name="api-webhook-delivery",
    ),
    path(
        "<int:webhook_id>/deliveries/<int:delivery_id>/replay/",
        views.DeliveryReplayView.as_view(),
        name="api-webhook-delivery-replay",
    ),
]
