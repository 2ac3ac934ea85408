"""The one C extension (everything else is in pyproject.toml): SM3 of many files at once in SIMD
lanes (decision 0016). Building it needs a C compiler and Python's headers (gcc, python3-dev). It is
optional: where it cannot be built (no compiler), setuptools warns and the wheel comes without it,
and `lantai.core.sm3` hashes with the library SM3 (cryptography's OpenSSL) and says so."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lantai.core._sm3lanes",
            ["src/lantai/core/_sm3lanes.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
