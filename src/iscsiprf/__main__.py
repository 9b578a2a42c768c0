"""`python -m iscsiprf ...`: the same command as the `iscsiprf` console script."""

from iscsiprf.cli import main

main()
