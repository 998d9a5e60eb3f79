"""A hostile corpus: inputs a careless or malicious user may give, each run in its own
process with a time and memory limit (see ``run.py``)."""
