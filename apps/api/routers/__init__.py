"""One router per resource of ``/client/v4``; :mod:`apps.api.api` mounts them."""
