"""Stand-in for paddlevideo.loader: the pipelines the serving script and tools/utils.py import."""
