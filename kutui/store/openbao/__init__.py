"""The openbao store: keys and the shared registry in a KV v2 mount of OpenBao (or HashiCorp
Vault), per docs/storage.md, "OpenBao". ``client`` talks to the server (hvac, imported on first
use), ``layout`` names the paths, ``registry``, ``secrets`` and ``lease`` hold what lives there.
"""
