"""The login pages under /cdn-cgi/access/ on the authentication hostname."""

from django.urls import path

from apps.identity import views

app_name = "identity"

urlpatterns = [
    path("login/<str:hostname>", views.login, name="login"),
    path("callback", views.callback, name="callback"),
]
