"""SECRET: credentials by vendor format, by keyword assignment, and inside connection strings.

Vendor prefixes (AKIA, ghp_, xoxb-, sk_live_, dapi, eyJ...) are near-certain on their own;
values after a keyword ("password:", "token=") need an entropy / character-mix check so that
prose ("the password is stored in Vault") and placeholders (``<your-key-here>``, ``${VAR}``)
do not fire. Entropy uses detect-secrets' Shannon estimator.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

from .checks import char_classes
from .engine import Span
from .fold import gated
from .patternset import PatternSet

_ENTROPY = Base64HighEntropyString()

# (name, pattern, group) — the value is ``group`` of the match.
_VENDOR = [
    ("aws-access-key", gated(r"(?<![A-Z0-9])((?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Z0-9])"), 1),
    ("github-token", gated(r"(?<![\w])(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})(?![\w])"), 1),
    ("gitlab-token", gated(r"(?<![\w-])(glpat-[A-Za-z0-9_-]{20,})"), 1),
    ("slack-token", gated(r"(?<![\w-])(xox[abposre]-[A-Za-z0-9-]{10,})"), 1),
    ("slack-webhook", gated(r"(https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{20,})"), 1),
    ("stripe-key", gated(r"(?<![\w])((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,})"), 1),
    ("openai-key", gated(r"(?<![\w-])(sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-|admin-)?[A-Za-z0-9_-]{20,})"), 1),
    ("sendgrid-key", gated(r"(?<![\w])(SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64})"), 1),
    ("twilio-key", gated(r"(?<![\w])(SK[0-9a-f]{32})(?![\w])"), 1),
    ("databricks-token", gated(r"(?<![\w])(dapi[0-9a-f]{32}(?:-\d+)?)(?![\w])"), 1),
    ("google-api-key", gated(r"(?<![\w-])(AIza[0-9A-Za-z_-]{35})"), 1),
    ("docker-pat", gated(r"(?<![\w])(dckr_pat_[A-Za-z0-9_-]{20,})"), 1),
    ("npm-token", gated(r"(?<![\w])(npm_[A-Za-z0-9]{36})(?![\w])"), 1),
    ("pypi-token", gated(r"(?<![\w])(pypi-AgE[A-Za-z0-9_-]{50,})"), 1),
    ("huggingface-token", gated(r"(?<![\w])(hf_[A-Za-z0-9]{30,})(?![\w])"), 1),
    ("jwt", gated(r"(?<![\w-])(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"), 1),
    (
        "private-key",
        gated(
            r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,-]*[A-Za-z0-9+/=]))"
        ),
        1,
    ),
]

# scheme://user:password@host — the password only.
# The user part may be empty ("redis://:password@host").
_CONN = gated(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@'\"]{0,64}:([^\s@'\"/]{3,128})@[\w.-]+")

_KEYWORD = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret(?:[_ -]?key)?|client[_ -]?secret|api[_ -]?key|apikey|"
    r"access[_ -]?key(?:[_ -]?id)?|secret[_ -]?access[_ -]?key|auth[_ -]?token|access[_ -]?token|"
    r"refresh[_ -]?token|bearer|token|private[_ -]?key|signing[_ -]?key|webhook[_ -]?secret|credentials?|key)"
)
# keyword [quote] separator [quote] value
_ASSIGN = gated(
    rf"(?i)\b([\w.-]*{_KEYWORD}[\w.-]*)['\"\]]{{0,2}}\s*(?:[:=]|=>|:=|\bis(?: now)?\b|\bwas\b|,)?\s*['\"]?"
    r"([^\s'\"`,;()<>{}]{6,200})(?![(\w])"
)
# Credentials passed as command-line flags or to PowerShell's SecureString constructor.
_CLI_FLAG = gated(
    r"(?:(?<=\s)|^)(?:-p|--password|-Password|--pass|--token|--api-key|--secret|-AccountKey|ConvertTo-SecureString(?:\s+-String)?)"
    r"(?:\s+|=)['\"]?([^\s'\"]{6,200})"
)
# PowerShell cmdlets and other Verb-Noun identifiers are not values.
_CMDLET = re.compile(r"^[A-Z][A-Za-z]+-[A-Z]\w+$")
# "login is user@corp / value", "user: x / pass: y"
_USER_SLASH = gated(r"(?i)(?:login|credentials?|creds|sign[ -]?in|account)\b[^\n]{0,40}?\S+@\S+\s+/\s+(\S{6,128})")

_PLACEHOLDER = re.compile(
    r"^(?:<.*>|\$\{.*\}|\$\(.*\)|\{\{.*\}\}|%\(.*\)s?|\$[A-Z_][A-Z0-9_]*|\*+|x+|\.\.\.+|-+)$"
    r"|your[_-]?|changeme|change[_-]?me|example|placeholder|redacted|dummy|sample|xxxx|\*\*\*|"
    r"(?i:^(?:null|none|true|false|undefined|password|secret|token|string|value|env|os\.environ.*)$)",
    re.I,
)
_DOCUMENTED_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    }
)
_HEX = re.compile(r"^[0-9a-f]+$", re.I)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_HASH_CONTEXT = re.compile(r"(?i)\b(?:sha\d*|md5|hash|digest|checksum|commit|sha-?\d+|fingerprint|etag|uuid|guid|id)\b")
_WEAK_KEYWORD = re.compile(r"(?i)^(?:key|credentials?|[\w.-]*id)$")


# every pattern's gate read from one scan of the text; in detect's order
_ALL = PatternSet([rx for _, rx, _ in _VENDOR] + [_CONN, _CLI_FLAG, _USER_SLASH, _ASSIGN])


def _placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.search(value)) or value in _DOCUMENTED_EXAMPLES or value.endswith("EXAMPLE")


def _credential_like(value: str, keyword: str, context: str) -> bool:
    """Is ``value`` (found after ``keyword``) plausibly a live credential?"""
    if _placeholder(value) or _UUID.match(value) or _CMDLET.match(value):
        return False
    kw = keyword.lower()
    is_password = "pass" in kw or "pwd" in kw
    if re.fullmatch(r"[A-Za-z]+", value) and not is_password:
        return False
    if _HEX.match(value):
        # Bare hex is a hash or commit id unless the keyword says token/secret and the
        # context does not talk about hashes.
        if _HASH_CONTEXT.search(context) or not re.search(r"token|secret|password|api", kw):
            return False
        return len(value) >= 16
    if re.fullmatch(r"[a-z]+(?:[_.-][a-z]+)+|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+", value):  # identifiers, dotted names
        return False
    if value.lower().startswith(("http://", "https://")):
        return False
    if is_password:
        # Human passwords have little entropy; require a mix of classes instead.
        return len(value) >= 8 and char_classes(value) >= 3 or (len(value) >= 12 and char_classes(value) >= 2)
    if _WEAK_KEYWORD.match(kw):
        return len(value) >= 16 and char_classes(value) >= 3 and _ENTROPY.calculate_shannon_entropy(value) >= 3.5
    return len(value) >= 12 and char_classes(value) >= 2 and _ENTROPY.calculate_shannon_entropy(value) >= 3.2


class SecretDetector:
    """Credential values (the value itself, not the keyword)."""

    name = "secret"
    categories = frozenset({"SECRET"})
    needs_doc = False

    def detect(self, text: str, doc: object | None = None) -> list[Span]:
        out: list[Span] = []
        taken: list[tuple[int, int]] = []

        def add(s: int, e: int, score: float, rec: str) -> None:
            if any(s < b and a < e for a, b in taken):
                return
            taken.append((s, e))
            out.append(Span("SECRET", "SECRET", s, e, score, rec))

        found = _ALL.finditer_each(text)
        conn, cli_flag, user_slash, assign = found[len(_VENDOR):]
        for (rec, _, grp), matches in zip(_VENDOR, found, strict=False):
            for m in matches:
                val = m.group(grp)
                if _placeholder(val) and rec != "private-key":
                    continue
                if rec == "private-key" and len(val) < 80:
                    continue
                add(m.start(grp), m.end(grp), 0.95, rec)
        for m in conn:
            val = m.group(1)
            if not _placeholder(val) and not val.startswith("$"):
                add(m.start(1), m.end(1), 0.9, "connection-string")
        for m in cli_flag:
            val = m.group(1).rstrip(".,;")
            context = text[max(0, m.start() - 40):m.end()]
            if not val.startswith(("-", "$")) and _credential_like(val, "password", context):
                add(m.start(1), m.start(1) + len(val), 0.8, "cli-flag")
        for m in user_slash:
            val = m.group(1).rstrip(".,;")
            if not _placeholder(val):
                add(m.start(1), m.start(1) + len(val), 0.85, "login-pair")
        for m in assign:
            val = m.group(2).rstrip(".,;:!?")
            ctx = text[max(0, m.start() - 40):m.end() + 10]
            if _credential_like(val, m.group(1), ctx):
                add(m.start(2), m.start(2) + len(val), 0.8, "keyword-value")
        return out
