"""The Qt user interface: a thin view over the document and the engine."""
