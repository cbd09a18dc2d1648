from django.urls import path

from agentdesk import views

app_name = "agentdesk"

urlpatterns = [
    path("", views.desktop, name="desktop"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("supervisor/", views.supervisor, name="supervisor"),
    path("supervisor/data/", views.supervisor_data, name="supervisor-data"),
    path("supervisor/agents/<int:agent_id>/force/", views.supervisor_force, name="supervisor-force"),
]
