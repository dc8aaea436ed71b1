"""Pure AT response parsers, one module per command family; see modem/decoder.py for the dispatch table."""
