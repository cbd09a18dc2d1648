"""`/media/l/<signed token>/<file name>`: our files, offered to platforms by signed link."""

from django.urls import path

from integrations.media_views import link

app_name = "media"

urlpatterns = [path("l/<str:token>/<str:name>", link, name="link")]
