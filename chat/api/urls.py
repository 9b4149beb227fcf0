from django.urls import path

from chat.api import views

urlpatterns = [
    path("widget/sessions/", views.WidgetSessionView.as_view(), name="api-widget-session"),
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
        "conversations/<int:conversation_id>/messages/<int:seq>/translate/",
        views.MessageTranslateView.as_view(),
        name="api-message-translate",
    ),
    path(
        "conversations/<int:conversation_id>/events/",
        views.ConversationEventsView.as_view(),
        name="api-conversation-events",
    ),
]
