"""Loaded by pytest with `-p lantai._pytest_env` (see pyproject) before pytest-django reads the
settings: every test run gets its own data directory, a fixed secret key and inline jobs."""

import os
import tempfile

os.environ.setdefault("LANTAI_DATA_DIR", tempfile.mkdtemp(prefix="lantai-test-"))
os.environ.setdefault("LANTAI_SECRET_KEY", "test-secret")
os.environ.setdefault("LANTAI_JOBS_IMMEDIATE", "1")
# Most tests keep packages on the primary location alone; the copies policy has its own tests.
os.environ.setdefault("LANTAI_PRESERVATION_MIN_COPIES", "1")
