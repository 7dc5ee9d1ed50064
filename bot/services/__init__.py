"""Domain services: plain functions over a Session, with no chat-platform imports."""
