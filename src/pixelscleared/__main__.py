import sys

from pixelscleared.cli import main

sys.exit(main())
