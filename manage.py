#!/usr/bin/env python
"""Django's command-line utility for accessctl (the `accessctl` console script does the same)."""

from accessctl.cli import main

if __name__ == "__main__":
    main()
