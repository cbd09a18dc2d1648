"""The product's URLs plus two baseline views served by the same server (`make bench`)."""

from django.urls import path

from bench import views
from contactcenter.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/insert/", views.one_insert),
    path("bench/trivial/", views.trivial),
    *product_urlpatterns,
]
