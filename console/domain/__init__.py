"""Pure product rules: no Qt, no I/O. Plain data in, plain data out."""
