"""Entry script of the PyInstaller bundle (packaging/psa.spec): the same `psa` as the wheel's."""

import multiprocessing
import sys

from console.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # `psa relay --workers N` forks ingest workers
    sys.exit(main())
