from django.urls import path

from . import opendata

app_name = "opendata"

urlpatterns = [
    path(
        "<str:lg_code>/online-procedures.csv", opendata.online_procedures, name="online_procedures"
    ),
]
