"""accessctl: mutual-TLS access control behind a TLS terminator."""
