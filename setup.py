"""Map the repository's folders onto one import namespace, ``triwarn.*`` (STYLE.md item 11).

Metadata and dependencies live in pyproject.toml; this file only derives the package list, so that
editable installs and wheels both see ``triwarn.core``, ``triwarn.sensors``, ``triwarn.services``...
"""

from setuptools import find_packages, setup

ROOTS = {
    "triwarn": "triwarn",
    "triwarn.core": "core",
    "triwarn.sensors": "sensors",
    "triwarn.services": "services",
    "triwarn.scenarios": "scenarios",
    "triwarn.analysis": "analysis",
    "triwarn.benches": "benches",
}

packages = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=ROOTS)
