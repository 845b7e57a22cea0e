"""Training loops behind scripts/ (the CLIs there parse arguments and call these)."""
