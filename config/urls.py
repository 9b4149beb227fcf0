from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from chat import views, widget_frame
from config.schema import SchemaView
from supervision import views as supervision_views

urlpatterns = [
    path("", views.home, name="home"),
    path("console/", views.console, name="console"),
    path("demo/<str:site_key>/", views.demo_page, name="demo"),
    path("demo/", views.demo_default, name="demo-default"),
    path("healthz", supervision_views.healthz, name="healthz"),
    path("metrics", supervision_views.metrics, name="metrics"),
    path("", include("supervision.urls")),
    path("widget/frame/", widget_frame.widget_frame, name="widget-frame"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("chat.api.urls")),
    path("api/v1/bots/", include("bots.api.urls")),
    path("api/v1/queues/", include("routing.api.urls")),
    path("api/v1/agents/", include("agents.api.urls")),
    path("api/v1/webhooks/", include("integrations.api.urls")),
    path("api/v1/rules/", include("integrations.api.rule_urls")),
    path("api/v1/reports/", include("supervision.api.urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]

# JSON in the API's error shape under /api/, Django's pages elsewhere (chat/api/errors.py).
handler400 = "chat.api.errors.bad_request"
handler404 = "chat.api.errors.page_not_found"
handler500 = "chat.api.errors.server_error"
