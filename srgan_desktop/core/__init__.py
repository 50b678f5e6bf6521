"""Qt-free core shared by the GUI, the CLI and the trainer: images, resize, models, weights,
inference engine and metrics.  Nothing here may import Qt (tests/test_layering.py checks)."""
