"""Package layout that pyproject.toml alone cannot say: the data package lives outside the tree.

The repository keeps its data files in the top-level ``resources/`` folder; they ship inside
the package as ``mailclient.resources``, so that ``importlib.resources`` finds them in a
wheel, an editable install and a PyInstaller bundle alike. ``packages.find`` in
pyproject.toml cannot discover a package whose folder is mapped elsewhere, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["mailclient", "mailclient.*"]), "mailclient.resources"],
    package_dir={"mailclient.resources": "resources"},
    # Only the files that package-data in pyproject.toml names: no sources, no caches.
    include_package_data=False,
)
