"""Light and dark themes (QSS in resources/themes), following the system unless told otherwise."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication


def themes_dir() -> Path:
    """``resources/themes`` wherever the product is installed (checkout, wheel, bundle)."""
    from console.resources import resources_dir

    try:
        return resources_dir() / "themes"
    except FileNotFoundError:
        return Path(__file__).resolve().parent.parent.parent / "resources" / "themes"


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def resolve(choice: str | None) -> str:
    if choice in ("light", "dark"):
        return choice
    return "dark" if system_prefers_dark() else "light"


def stylesheet(name: str) -> str:
    path = themes_dir() / f"{name}.qss"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def apply(app: QApplication, choice: str | None = None) -> str:
    """Apply the theme; with "system" (or None) re-apply when the system scheme changes."""
    name = resolve(choice)
    app.setStyle("Fusion")
    app.setStyleSheet(stylesheet(name))
    app.setProperty("psaTheme", name)
    if choice in (None, "system"):
        hints = QGuiApplication.styleHints()

        def follow(_scheme: Qt.ColorScheme) -> None:
            app.setStyleSheet(stylesheet(resolve(None)))
            app.setProperty("psaTheme", resolve(None))

        hints.colorSchemeChanged.connect(follow)
    return name
