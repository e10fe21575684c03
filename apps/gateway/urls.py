"""The guarded application's own pages and the forward-auth endpoint."""

urlpatterns: list = []
