"""兰台 Lantai — a digital archives system (数字档案馆系统)."""

__version__ = "0.1.0"
