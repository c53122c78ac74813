"""Item models behind the panes."""
