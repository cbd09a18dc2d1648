from django.urls import path

from agentdesk import views

app_name = "agentdesk"

urlpatterns = [
    path("", views.desktop, name="desktop"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/data/", views.supervisor_data, name="supervisor-data"),
    path("history/", views.history_search, name="history-search"),
    path("history/<int:interaction_id>/", views.history_transcript, name="history-transcript"),
    path("history/<int:interaction_id>/notes/", views.history_add_note, name="history-add-note"),
    path("outbound/", views.outbound_options, name="outbound-options"),
    path("outbound/customers/", views.outbound_customers, name="outbound-customers"),
    path("outbound/start/", views.outbound_start, name="outbound-start"),
    path("attachments/<int:interaction_id>/", views.upload_attachment, name="upload-attachment"),
    path("media/<int:message_id>/", views.media, name="media"),
    path("supervisor/agents/<int:agent_id>/force/", views.supervisor_force, name="supervisor-force"),
]
