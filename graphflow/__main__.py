"""`python -m graphflow …` runs the graphflow command."""
import sys

from .cli import main

sys.exit(main())
