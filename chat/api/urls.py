from django.urls import path

from chat.api import attachment_views, conversations, customers, feedback_views, keys, me, views

urlpatterns = [
    path("widget/sessions/", views.WidgetSessionView.as_view(), name="api-widget-session"),
    path("widget/prechat/", feedback_views.PrechatView.as_view(), name="api-widget-prechat"),
    path(
        "widget/attachments/",
        attachment_views.WidgetAttachmentUploadView.as_view(),
        name="api-widget-attachments",
    ),
    path(
        "conversations/<int:conversation_id>/attachments/",
        attachment_views.AttachmentUploadView.as_view(),
        name="api-conversation-attachments",
    ),
    path(
        "attachments/<uuid:attachment_id>/<str:variant>/",
        attachment_views.AttachmentFileView.as_view(),
        name="api-attachment-file",
    ),
    path("conversations/", conversations.ConversationListView.as_view(), name="api-conversations"),
    path(
        "conversations/<int:conversation_id>/",
        conversations.ConversationDetailView.as_view(),
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
        conversations.ConversationResolveView.as_view(),
        name="api-conversation-resolve",
    ),
    path(
        "conversations/<int:conversation_id>/reopen/",
        conversations.ConversationReopenView.as_view(),
        name="api-conversation-reopen",
    ),
    path(
        "conversations/<int:conversation_id>/transfer/",
        conversations.ConversationTransferView.as_view(),
        name="api-conversation-transfer",
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
        "conversations/<int:conversation_id>/handoff/",
        conversations.ConversationHandoffView.as_view(),
        name="api-conversation-handoff",
    ),
    path(
        "conversations/<int:conversation_id>/tags/",
        conversations.ConversationTagsView.as_view(),
        name="api-conversation-tags",
    ),
    path(
        "conversations/<int:conversation_id>/messages/<int:seq>/",
        views.MessageDetailView.as_view(),
        name="api-message",
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
    path("customers/", customers.CustomerListView.as_view(), name="api-customers"),
    path(
        "customers/<int:customer_id>/",
        customers.CustomerDetailView.as_view(),
        name="api-customer",
    ),
    path(
        "customers/<int:customer_id>/export/",
        customers.CustomerExportView.as_view(),
        name="api-customer-export",
    ),
    path(
        "customers/<int:customer_id>/erase/",
        customers.CustomerEraseView.as_view(),
        name="api-customer-erase",
    ),
    path("me/", me.MeView.as_view(), name="api-me"),
    path("api-keys/", keys.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>/", keys.ApiKeyDetailView.as_view(), name="api-key"),
    path("api-keys/<int:key_id>/revoke/", keys.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
]
