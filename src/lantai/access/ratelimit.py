"""Moved to `lantai.core.ratelimit` (shared by every public room); kept while imports move."""

from lantai.core.ratelimit import *  # noqa: F403
from lantai.core.ratelimit import client_ip, limited, parse_rate, take, too_many  # noqa: F401
