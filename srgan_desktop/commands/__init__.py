"""Command-line subcommands of ``srgan-desktop`` (Qt-free; one module per subcommand)."""
