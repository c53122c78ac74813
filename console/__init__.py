"""PSA Technician Console: Odoo 19 + Pulseway + RocketCyber triage desktop and webhook relay."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("psa-console")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
