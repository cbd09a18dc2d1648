from django.apps import AppConfig


class AgentdeskConfig(AppConfig):
    name = "agentdesk"
