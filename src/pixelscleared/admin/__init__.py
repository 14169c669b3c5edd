"""The sidecar's own endpoints under the prefix (default `/_pc/`).

`access` (who may read the operator endpoints, and the `admin:` settings), `pages` (the HTML
the operator reads), `endpoints` (routing: collect, health, events, metrics). This file imports
none of them: `config.py` reads `access` while `endpoints` needs the assembled pipeline.
"""
