"""The public REST API (v1), API tokens, outgoing event webhooks and interaction records.

It sits beside the composition root: it may import every product app; no product app imports it.
"""
