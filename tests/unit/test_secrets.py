"""Secrets never reach output: join tokens, unlock keys and private keys are masked."""

from __future__ import annotations

import pytest

from workshop.secrets import mask_secrets

WORKER = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"
MANAGER = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-7p73s1dx5in4tatdymyhg9hu2"
KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBHK2Ohp7kY0Sp1GhcVAXqk/KnmGUtJCwMRyZmPcRAm6QAAAJi2ZMv+tmTL
-----END OPENSSH PRIVATE KEY-----"""


def test_join_command_is_masked():
    text = f"    docker swarm join --token {WORKER} 192.168.56.11:2377\n"
    assert mask_secrets(text) == (
        "    docker swarm join --token SWMTKN-1-3pu6****… 192.168.56.11:2377\n"
    )


def test_both_tokens_in_one_text():
    masked = mask_secrets(f"worker={WORKER}\nmanager={MANAGER}")
    assert masked == "worker=SWMTKN-1-3pu6****…\nmanager=SWMTKN-1-3pu6****…"


@pytest.mark.parametrize(
    "secret",
    [
        WORKER,
        WORKER[:40],  # cut short, as in a trimmed log line
        "SWMKEY-1-7c37Cc8654o6p38HnroywCi19pllOnGtbdZEgtKxZu8",  # autolock unlock key
    ],
)
def test_no_secret_characters_survive(secret):
    masked = mask_secrets(f"x {secret} y")
    assert secret[13:] not in masked
    assert masked.startswith("x SWM")
    assert masked.endswith("****… y")


def test_private_key_block():
    masked = mask_secrets(f"key:\n{KEY}\nafter")
    assert masked == (
        "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\n****…\n-----END OPENSSH PRIVATE KEY-----\nafter"
    )


def test_other_pem_keys_and_unterminated_blocks():
    rsa = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"
    assert "MIIEow" not in mask_secrets(rsa)
    cut = KEY[:80]
    assert mask_secrets(cut) == (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n****…\n-----END OPENSSH PRIVATE KEY-----"
    )


def test_public_things_are_left_alone():
    text = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEcrY6GnuRjRKnUaFxUBeqT8qeYZS0kLAxHJmY9xEC bob\n"
    assert mask_secrets(text) == text
    assert mask_secrets("node-1 Ready Active Leader 24.0.7") == "node-1 Ready Active Leader 24.0.7"
    assert mask_secrets("") == ""


@pytest.mark.parametrize("text", [WORKER, KEY, f"a {WORKER} b {KEY} c", WORKER[:12]])
def test_masking_is_idempotent(text):
    once = mask_secrets(text)
    assert mask_secrets(once) == once
