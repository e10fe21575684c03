"""The benchmark's site: accessctl as shipped, plus one minimal view every scenario requests.

``settings`` is accessctl's own settings with ``urls`` as the URLconf (accessctl's URLs and
``/bench/ok``); ``settings_without_access`` the same without the access middleware (what
merely installing accessctl costs); ``minimal`` a minimal Django project serving only that
view, and a bare WSGI callable, for the record.
"""
