"""Training on the user's own images (torch, no Qt)."""
