"""Every reason code of the request path, in one enum.

A reason is what the access log's ``reason`` field, the policy tester and the tests compare:
why a forwarded header was refused, why a chain did not verify, why a token was refused, why
a request was allowed or denied. Codes are stable strings (``StrEnum``: a member *is* its
value, so it goes into JSON and compares with a string as it is); the list with their meanings
is in ``docs/security.md``.
"""

# The token_* codes are names of refusals, not secrets (ruff's S105 reads "token" as one).
# ruff: noqa: S105

from __future__ import annotations

from enum import StrEnum, unique


@unique
class Reason(StrEnum):
    """Why a request, a header, a chain or a token got the answer it got."""

    # --- The forwarded certificate header (accessctl.core.forwarded) -----------------------
    UNKNOWN_FORMAT = "unknown_format"
    HEADER_TOO_LARGE = "header_too_large"
    HEADER_UNDERSCORE_SPELLING = "header_underscore_spelling"
    REPEATED_HEADER = "repeated_header"
    BAD_CHARACTERS = "bad_characters"
    DOUBLE_ENCODED = "double_encoded"
    BAD_BASE64 = "bad_base64"
    BAD_STRUCTURED_FIELD = "bad_structured_field"
    MALFORMED = "malformed"
    PEM_MALFORMED = "pem_malformed"
    PEM_UNEXPECTED_BLOCK = "pem_unexpected_block"
    PRIVATE_KEY = "private_key"
    CERT_MALFORMED = "cert_malformed"
    MULTIPLE_LEAVES = "multiple_leaves"
    CHAIN_TOO_LONG = "chain_too_long"
    CHAIN_WITHOUT_LEAF = "chain_without_leaf"
    XFCC_MALFORMED = "xfcc_malformed"
    XFCC_MULTIPLE_ELEMENTS = "xfcc_multiple_elements"
    XFCC_CHAIN_MISMATCH = "xfcc_chain_mismatch"

    # --- Chain verification (accessctl.core.verify) ----------------------------------------
    NO_TRUST_ANCHOR = "no_trust_anchor"
    CERT_NOT_YET_VALID = "cert_not_yet_valid"
    CERT_EXPIRED = "cert_expired"
    CERT_UNSUPPORTED = "cert_unsupported"
    WEAK_KEY = "weak_key"  # the leaf's key breaks the client key policy (core/keys.py)
    EKU_NOT_CLIENT_AUTH = "eku_not_client_auth"
    CHAIN_TOO_DEEP = "chain_too_deep"
    CHAIN_EXPIRED = "chain_expired"
    CHAIN_INVALID_CA = "chain_invalid_ca"
    CHAIN_UNTRUSTED = "chain_untrusted"

    # --- Revocation (accessctl.core.revocation) --------------------------------------------
    CERTIFICATE_REVOKED = "certificate_revoked"
    CRL_STALE = "crl_stale"

    # --- Policy evaluation (accessctl.core.policy) -----------------------------------------
    NO_CERTIFICATE = "no_certificate"  # none presented (an input, never a final reason)
    BYPASS = "bypass"
    POLICY_ALLOW = "policy_allow"
    POLICY_BLOCK = "policy_block"
    NO_POLICY_FOR_PATH = "no_policy_for_path"
    CERTIFICATE_REQUIRED = "certificate_required"
    NO_MATCHING_POLICY = "no_matching_policy"
    IDENTITY_REQUIRED = "identity_required"  # an identity policy, and nobody logged in

    # --- Session tokens (accessctl.core.tokens) --------------------------------------------
    SESSION = "session"  # let through by a valid CF_Authorization token
    TOKEN_MALFORMED = "token_malformed"
    TOKEN_BAD_ALGORITHM = "token_bad_algorithm"
    TOKEN_UNKNOWN_KID = "token_unknown_kid"
    TOKEN_BAD_SIGNATURE = "token_bad_signature"
    TOKEN_MISSING_CLAIM = "token_missing_claim"
    TOKEN_WRONG_AUDIENCE = "token_wrong_audience"
    TOKEN_WRONG_ISSUER = "token_wrong_issuer"
    TOKEN_INVALID = "token_invalid"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_NOT_YET_VALID = "token_not_yet_valid"
    TOKEN_STALE_EPOCH = "token_stale_epoch"
    TOKEN_CERT_MISMATCH = "token_cert_mismatch"
    SESSION_ENDED = "session_ended"  # its login was logged out (every application, every node)

    # --- The gateway (apps.gateway) --------------------------------------------------------
    DASHBOARD_HOST = "dashboard_host"
    NO_POLICY = "no_policy"  # the hostname is not guarded: passes unchecked
    NO_APPLICATION = "no_application"  # no enforced application covers the path: passes
    SNI_MISMATCH = "sni_mismatch"
    CONFIG_UNCONFIRMED = "config_unconfirmed"
    DECISION_ERROR = "decision_error"
    SIGNING_KEY_UNAVAILABLE = "signing_key_unavailable"
    FORWARD_AUTH_UNGUARDED = "forward_auth_unguarded"
    INVALID_FORWARDED_URI = "invalid_forwarded_uri"
    INVALID_FORWARDED_HOST = "invalid_forwarded_host"
