"""Stand-in for paddlevideo.loader: only the pipelines the serving script imports."""
