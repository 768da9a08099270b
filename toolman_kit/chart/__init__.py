"""Chart + values → facts: rendering through Helm (in-process SDK or the CLI)."""
