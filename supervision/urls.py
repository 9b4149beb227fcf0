from django.urls import path

from supervision import views

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path("supervision/", views.floor_page, name="supervision-floor"),
    path("status/", views.status_page, name="status"),
    path("status/<str:site_key>/", views.status_page, name="status-site"),
    path("supervision/reports/", views.reports, name="supervision-reports"),
    path(
        "supervision/reports/variants.csv",
        views.reports_variants_csv,
        name="supervision-reports-variants-csv",
    ),
]
