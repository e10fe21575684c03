from django.apps import AppConfig


class RevocationConfig(AppConfig):
    """Revocation: CRLs of the trust store's CAs and certificates revoked by the operator."""

    name = "apps.revocation"
    label = "revocation"
    verbose_name = "Revocation"

    def ready(self) -> None:
        from apps.base.portability import register_section
        from apps.revocation.cli import EXTENSION
        from apps.revocation.portability import SECTION
        from apps.trust.commands import register_certificates_extension

        # `accessctl certificates crl|revoke|revoked|unrevoke`
        register_certificates_extension("revocation", EXTENSION)
        register_section(SECTION)  # its part of `accessctl export` / `import`
