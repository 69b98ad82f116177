"""``python -m segmentation``: see :mod:`segmentation.cli`."""

import sys

from segmentation.cli import main

# Guarded: a process spawned by multiprocessing (the parallel map layout) re-imports the main module.
if __name__ == "__main__":
    sys.exit(main())
