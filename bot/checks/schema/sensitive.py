"""prisma/sensitive-plaintext: passwords, secrets, tokens and identity numbers stored as plain strings.

A database dump, a read replica, a log of slow queries or a support tool then exposes them. Values the app only
compares (passwords, API keys, session and reset tokens) should be stored hashed; values it must read back (OAuth
refresh tokens, SSNs) encrypted. The rule looks for a sign of either in the name, the doc comment or the type.
"""

from __future__ import annotations

from bot.checks.schema._common import SchemaInput, authjs_adapter_model, entity_models, field_finding, words
from bot.findings import Finding, Severity, Surface
from bot.prisma.model import Field
from bot.registry import define

RULE = define(
    "prisma/sensitive-plaintext",
    Severity.WARNING,
    Surface.SCHEMA,
    "Password, secret, token or identity-number field stored as a plain String",
    options={
        # A field is sensitive when its last name word is one of these...
        "sensitive_words": ["password", "passwd", "pwd", "passphrase", "secret", "token", "ssn", "pin", "cvv",
                            "cvc", "otp", "totp", "mfa"],
        # ...or its words contain one of these sequences.
        "sensitive_phrases": ["api key", "private key", "secret key", "signing key", "encryption key",
                              "access key", "social security", "card number", "credit card", "account number",
                              "tax id", "passport number"],
        # Signs that the value is not plaintext (name words, doc comment words).
        "safe_markers": ["hash", "hashed", "digest", "encrypted", "encrypt", "cipher", "ciphertext", "enc", "salt",
                         "bcrypt", "argon2", "scrypt", "sha256", "hmac", "kms", "sealed", "masked", "mask", "display",
                         "preview", "prefix", "hint", "last4", "redacted", "public", "fingerprint", "expires",
                         "expiry", "expiration", "type", "id", "ids", "count", "length", "url", "at", "version",
                         "name", "label", "policy", "strategy", "provider"],
    },
)

# bcrypt hashes are 60 characters: a column sized for one is a sign of hashing.
_HASH_LENGTHS = {"60", "64", "128"}


def sensitive_reason(f: Field, opts: dict) -> str | None:
    ws = words(f.name) or [f.name.lower()]
    markers = set(opts.get("safe_markers") or [])
    doc = " ".join(f.doc + ([f.comment] if f.comment else [])).lower()
    if set(ws) & markers or any(m in doc for m in ("hash", "encrypt", "bcrypt", "argon", "scrypt", "cipher")):
        return None
    joined = " ".join(ws)
    if ws[-1] in set(opts.get("sensitive_words") or []):
        return ws[-1]
    for phrase in opts.get("sensitive_phrases") or []:
        if f" {phrase} " in f" {joined} ":
            return phrase
    return None


def check(inp: SchemaInput) -> list[Finding]:
    opts = inp.options(RULE)
    findings: list[Finding] = []
    for m in entity_models(inp.schema):
        # Auth.js stores a SHA-256 of the emailed token in VerificationToken.token, never the token itself.
        authjs_token = authjs_adapter_model(m) == "VerificationToken"
        for f in m.fields:
            if f.kind != "scalar" or f.type != "String" or f.list:
                continue
            if authjs_token and f.name == "token":
                continue
            reason = sensitive_reason(f, opts)
            if reason is None:
                continue
            if f.native is not None and f.native.explicit and f.native.args and f.native.args[0] in _HASH_LENGTHS \
                    and reason in ("password", "passwd", "pwd", "passphrase", "secret"):
                continue
            if reason in ("password", "passwd", "pwd", "passphrase", "pin"):
                advice = (f"store only a slow hash (argon2id or bcrypt) and name the field `{f.name}Hash`, or say so "
                          "in a `///` comment if it is already hashed")
            elif reason in ("ssn", "social security", "card number", "credit card", "account number", "tax id",
                            "passport number", "cvv", "cvc"):
                advice = ("encrypt it in the application (or with a KMS) before it reaches the database, or do not "
                          "store it at all (CVV must never be stored)")
            else:
                advice = (f"if the app only compares it, store a SHA-256 of it (`{f.name}Hash`) and look rows up by "
                          "the hash; if it must be read back (OAuth tokens), encrypt it and mark the field with a "
                          "`/// encrypted` comment")
            ws = words(f.name)
            # OAuth access/refresh/id tokens and auth-library session tokens (NextAuth's adapter schema) are stored
            # in plaintext by design of those libraries: worth knowing, rarely the author's choice.
            # OAuth 1.0a's `oauth_token` / `oauth_token_secret` (Twitter in NextAuth's Account) are the same kind.
            library_token = (reason == "token" and len(ws) >= 2 and ws[-2] in ("access", "refresh", "id", "session")) \
                or (reason in ("token", "secret") and "oauth" in ws) \
                or (reason == "token" and not {"csrf", "xsrf"}.isdisjoint(ws))  # a nonce, useless without the session
            findings.append(field_finding(
                RULE, f,
                f"`{f.key}` looks like a sensitive value ({reason}) stored as a plain `String`: anyone with read "
                f"access to the database, a backup or a replica can use it. {advice[0].upper()}{advice[1:]}.",
                severity=Severity.INFO if library_token else None,
            ))
    return findings
