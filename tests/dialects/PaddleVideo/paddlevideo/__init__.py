"""Stand-in for PaddleVideo's paddlevideo package: only what deploy/python_serving and tools/predict.py import."""
