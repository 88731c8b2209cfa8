"""`python -m bench` and one module per subcommand; the only layer that starts reports."""
