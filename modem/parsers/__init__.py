"""Pure AT response parsers, one module per command family; see modem/decode.py for the dispatch table."""
