"""The document model: layers, compositing, files, history (no Qt, no torch)."""
