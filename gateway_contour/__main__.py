"""`python -m gateway_contour ...`: the `gateway-contour` command line."""

import sys

from gateway_contour.cli import main

sys.exit(main())
