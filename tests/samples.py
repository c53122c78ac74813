"""Where the example payloads live: copied byte for byte from the shared reference into
resources/samples/ so a clean checkout tests without anything beside it."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"
