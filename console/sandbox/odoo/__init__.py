"""An Odoo 19 stand-in: an ORM on SQLite (``orm``) behind Odoo's RPC wire protocols (``server``)."""
