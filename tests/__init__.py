"""structgen test suite (a package, so helpers import as ``tests._tokenizers``)."""
