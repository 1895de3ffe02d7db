"""Run the trainer's command line: `python -m trainer`."""

from trainer.cli import main

main()
