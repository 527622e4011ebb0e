"""Email: rendering (pure) and delivery."""
