"""Protocol-faithful stand-ins for Odoo 19, Pulseway v3 and RocketCyber v3.

Imported only by tests, ``psa console --demo`` and ``psa sandbox`` (import-linter enforces it).
"""
