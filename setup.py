"""The one C extension (everything else is in pyproject.toml): SM3 of many files at once in SIMD
lanes (decision 0016). Building needs a C compiler and Python's headers (scripts/setup.sh)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lantai.core._sm3lanes", ["src/lantai/core/_sm3lanes.c"], extra_compile_args=["-O3"]
        )
    ]
)
