from django.urls import path

from integrations.api import rules

urlpatterns = [
    path("", rules.RuleListView.as_view(), name="api-rules"),
    path("<int:rule_id>/", rules.RuleDetailView.as_view(), name="api-rule"),
    path("<int:rule_id>/pause/", rules.RulePauseView.as_view(), name="api-rule-pause"),
    path("<int:rule_id>/enable/", rules.RuleEnableView.as_view(), name="api-rule-enable"),
]
