"""``python -m segmentation``: see :mod:`segmentation.cli`."""

import sys

from segmentation.cli import main

# Guarded, so that importing this module (as multiprocessing's spawn does with a main module) runs nothing.
if __name__ == "__main__":
    sys.exit(main())
