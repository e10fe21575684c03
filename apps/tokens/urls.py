"""Access endpoints under /cdn-cgi/access/ (certs, logout, get-identity)."""

urlpatterns: list = []
