"""`python -m bot` is the same as the `bridgebot` command."""

from bot.cli import main

main()
