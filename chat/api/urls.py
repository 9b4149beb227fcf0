from django.urls import path

from chat.api import feedback_views, views

urlpatterns = [
    path("widget/sessions/", views.WidgetSessionView.as_view(), name="api-widget-session"),
    path("widget/prechat/", feedback_views.PrechatView.as_view(), name="api-widget-prechat"),
    path("conversations/", views.ConversationListView.as_view(), name="api-conversations"),
    path(
        "conversations/<int:conversation_id>/",
        views.ConversationDetailView.as_view(),
        name="api-conversation",
    ),
    path(
        "conversations/<int:conversation_id>/messages/",
        views.MessageListView.as_view(),
        name="api-messages",
    ),
    path(
        "conversations/<int:conversation_id>/system-messages/",
        views.SystemMessageView.as_view(),
        name="api-system-messages",
    ),
    path(
        "conversations/<int:conversation_id>/resolve/",
        views.ConversationResolveView.as_view(),
        name="api-conversation-resolve",
    ),
    path(
        "conversations/<int:conversation_id>/csat/",
        feedback_views.CsatView.as_view(),
        name="api-conversation-csat",
    ),
    path(
        "conversations/<int:conversation_id>/transcript/",
        feedback_views.TranscriptView.as_view(),
        name="api-conversation-transcript",
    ),
    path(
        "conversations/<int:conversation_id>/offline-contact/",
        feedback_views.OfflineContactView.as_view(),
        name="api-conversation-offline-contact",
    ),
    path("reports/csat/", feedback_views.CsatReportView.as_view(), name="api-report-csat"),
    path(
        "conversations/<int:conversation_id>/events/",
        views.ConversationEventsView.as_view(),
        name="api-conversation-events",
    ),
]
