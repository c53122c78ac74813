"""Where ``resources/`` (themes, Odoo schema, samples, icons) is, however the product was installed.

One function answers for every layout, in this order:

1. ``PSA_RESOURCES`` in the environment (a packager's override);
2. a PyInstaller bundle: ``resources/`` beside the frozen interpreter (``sys._MEIPASS``);
3. a source checkout (and an editable install): ``resources/`` beside the ``console`` package;
4. a wheel install: the wheel carries ``resources/`` as data files under
   ``<prefix>/share/psa-console/resources`` (venv, ``--user``, system, pipx alike: the
   installed file list says where they went).

No I/O beyond ``stat``; no Qt, so the relay and the CLI use it too.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

#: a file every complete resources directory has
_MARKER = Path("odoo") / "schema.toml"
#: where the wheel installs the resources, relative to the installation prefix
INSTALLED_SUBDIR = Path("share") / "psa-console" / "resources"
DISTRIBUTION = "psa-console"


def _candidates() -> list[Path]:
    found: list[Path] = []
    override = os.environ.get("PSA_RESOURCES")
    if override:
        found.append(Path(override))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        found.append(Path(bundle) / "resources")
    import console

    found.append(Path(console.__file__).resolve().parent.parent / "resources")
    found.extend(_installed_candidates())
    found.append(Path(sys.prefix) / INSTALLED_SUBDIR)
    return found


def _installed_candidates() -> list[Path]:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(DISTRIBUTION)
    except PackageNotFoundError:
        return []
    wanted = (INSTALLED_SUBDIR / _MARKER).as_posix()
    for entry in dist.files or ():
        if entry.as_posix().endswith(wanted):
            located = Path(str(dist.locate_file(entry))).resolve()
            return [located.parents[len(_MARKER.parts) - 1]]
    return []


@functools.cache
def resources_dir() -> Path:
    """The resources directory; raises ``FileNotFoundError`` naming where it looked."""
    candidates = _candidates()
    for candidate in candidates:
        if (candidate / _MARKER).is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"the psa-console resources (themes, Odoo schema) were not found; looked in: {looked}. "
        "Reinstall the package, or point PSA_RESOURCES at a resources/ directory."
    )


def resource_path(*parts: str) -> Path:
    """A path inside the resources directory (it may not exist: callers check)."""
    return resources_dir().joinpath(*parts)
