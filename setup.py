"""The packages to install: ``firebase_sync``, and the ``emulator/`` folder as
``firebase_sync_emulator`` (a top-level ``emulator`` would clash with users' own modules).

Everything else is in pyproject.toml; only this mapping needs code, so that new subpackages of
either are installed without a list to keep up to date.
"""

from setuptools import find_packages, setup

EMULATOR = "firebase_sync_emulator"
emulator_packages = [
    EMULATOR + name[len("emulator") :] for name in find_packages(include=["emulator", "emulator.*"])
]
setup(
    packages=find_packages(include=["firebase_sync", "firebase_sync.*"]) + emulator_packages,
    package_dir={EMULATOR: "emulator"},
)
