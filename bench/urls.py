"""The application's URLs plus the benchmark's floor view (``bench.floor.insert_one``)."""

from django.urls import path

from bench.floor import insert_one
from config.urls import urlpatterns as application

urlpatterns = [path("bench/floor/", insert_one), *application]
