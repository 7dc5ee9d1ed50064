"""The web dashboard: collaboration health at a glance, served on the same FastAPI app."""
