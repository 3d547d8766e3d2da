import sys

from zonewatch.cli import main

sys.exit(main())
