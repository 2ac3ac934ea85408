"""A quick password hasher for the test process (tests/conftest.py). It writes the production
algorithm (pbkdf2_sha256) with few rounds, so that a Lantai process a test starts — which uses
the production settings — still verifies every password a test set."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000
