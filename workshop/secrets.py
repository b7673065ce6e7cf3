"""Mask secrets (swarm join tokens, unlock keys, private keys) in text.

Everything the kit shows or logs goes through :func:`mask_secrets`, so a join token
printed by ``docker swarm join-token`` or a key echoed by a failed command never ends
up in a notebook output, a traceback or a CI log.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_secrets"]

#: What replaces the secret part of a token.
MASK = "****…"

#: How many characters of a token's secret part stay visible, to tell tokens apart.
KEEP = 4

# ``SWMTKN-1-<ca digest, base36>-<secret, base36>``; also partial tokens (one part
# only, as in an output trimmed mid-token) and autolock keys ``SWMKEY-1-<base64>``.
_TOKEN = re.compile(r"\b(SWMTKN|SWMKEY)-1-([0-9A-Za-z+/=]+(?:-[0-9A-Za-z]+)*)")

# PEM/OpenSSH private key blocks; an unterminated block (output cut short) is
# masked up to the end of the text.
_KEY_BLOCK = re.compile(
    r"(-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----)"
    r".*?"
    r"(?:(-----END [A-Z0-9 ]*PRIVATE KEY-----)|\Z)",
    re.DOTALL,
)


def _mask_token(match: re.Match[str]) -> str:
    text = match.string
    end = match.end()
    if text.startswith("*", end):  # already masked: leave it alone
        return match.group(0)
    kind, secret = match.group(1), match.group(2)
    return f"{kind}-1-{secret[:KEEP]}{MASK}"


def _mask_key_block(match: re.Match[str]) -> str:
    end = match.group(3) or f"-----END {match.group(2)}-----"
    return f"{match.group(1)}\n{MASK}\n{end}"


def mask_secrets(text: str) -> str:
    """Return ``text`` with swarm tokens, unlock keys and private keys masked.

    Join tokens ``SWMTKN-1-<digest>-<secret>`` keep their first four characters
    after ``SWMTKN-1-`` (enough to tell two tokens apart, far too little to use) and
    the rest becomes ``****…``. Private key blocks keep their BEGIN/END lines only.
    Masking is idempotent: masked text comes back unchanged.

    Args:
        text: Any text: command lines, command output, messages.

    Returns:
        The text with every secret masked.
    """
    if "-1-" not in text and "PRIVATE KEY" not in text:
        return text
    text = _KEY_BLOCK.sub(_mask_key_block, text)
    return _TOKEN.sub(_mask_token, text)
