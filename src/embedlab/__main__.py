"""`python -m embedlab` runs the command line."""

from embedlab.cli.main import main

main()
