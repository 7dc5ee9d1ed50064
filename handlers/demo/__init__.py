"""`bridgebot demo`: a generated workspace living six simulated weeks, then the console."""
