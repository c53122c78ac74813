"""Qt only: main window, panes, models, delegates, dialogs, wall mode."""
