"""The login pages under /cdn-cgi/access/ on the authentication hostname."""

from django.urls import path

from apps.identity import pin_views, views

app_name = "identity"

urlpatterns = [
    path("login/<str:hostname>", views.login, name="login"),
    path("callback", views.callback, name="callback"),
    path("pin/<str:hostname>", pin_views.pin_send, name="pin_send"),
    path("pin", pin_views.pin_code, name="pin_code"),
]
