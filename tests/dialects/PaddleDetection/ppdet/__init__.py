"""Stand-in for PaddleDetection's ppdet package: only what the stand-in's tools/export_model.py needs."""
