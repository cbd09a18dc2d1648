from django.urls import path, re_path

from simulator import media, views
from simulator.api import facebook, line, nexmo, telegram, viber

app_name = "simulator"

urlpatterns = [
    path("", views.index, name="index"),
    path("accounts.json", views.accounts, name="accounts"),
    path("chat/<int:account_id>/send", views.send, name="send"),
    path("chat/<int:account_id>/block", views.block, name="block"),
    path("chat/<int:account_id>/press", views.press, name="press"),
    path("chat/<int:account_id>/messages", views.messages, name="messages"),
    path("chat/<int:account_id>/log", views.log, name="log"),
    # Fake platform APIs, same paths below the base URL as the real ones.
    re_path(r"^api/telegram/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$", telegram.bot_method, name="telegram"),
    re_path(r"^api/telegram/file/bot(?P<token>[^/]+)/(?P<file_path>.+)$", telegram.download, name="telegram-file"),
    path("cdn/<str:token>/<str:name>", media.cdn, name="cdn"),
    path("chat/<int:account_id>/send-media", views.send_media, name="send-media"),
    path("chat/<int:account_id>/media/<int:message_id>", views.media_file, name="media"),
    re_path(r"^api/facebook/(?P<version>v\d+\.\d+)/(?P<path>.+)$", facebook.graph, name="facebook"),
    re_path(r"^api/line/v2/bot/(?P<path>.+)$", line.bot_api, name="line"),
    re_path(r"^api/viber/(?P<method>[a-z_]+)$", viber.pa_api, name="viber"),
    path("api/nexmo/v1/messages", nexmo.messages, name="nexmo-messages"),
    path("api/nexmo/account/get-balance", nexmo.balance, name="nexmo-balance"),
    path("api/nexmo/v2/applications/<str:application_id>", nexmo.application, name="nexmo-application"),
]
