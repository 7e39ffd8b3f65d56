"""The style engine: networks, weights, styles, fusion, rendering (torch, no Qt)."""
