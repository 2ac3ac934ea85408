"""兰台 Lantai — a digital archives system (数字档案馆系统)."""

# The release (CHANGELOG.md, docs/upgrading.md); pyproject.toml's version must be the same
# (tests/upgrade/test_version.py).
__version__ = "0.20.0"
