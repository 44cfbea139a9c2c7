"""One module per `triwarn` subcommand, each with `register(subparsers)` (see triwarn.cli.main)."""
