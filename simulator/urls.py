from django.urls import path, re_path

from simulator import views
from simulator.api import telegram

app_name = "simulator"

urlpatterns = [
    path("", views.index, name="index"),
    path("accounts.json", views.accounts, name="accounts"),
    path("chat/<int:account_id>/send", views.send, name="send"),
    path("chat/<int:account_id>/messages", views.messages, name="messages"),
    path("chat/<int:account_id>/log", views.log, name="log"),
    # Fake platform APIs, same paths below the base URL as the real ones.
    re_path(r"^api/telegram/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$", telegram.bot_method, name="telegram"),
]
