"""Where a network comes from: the front-end readers and their registry
(:func:`convcost.frontend.registry.open_network`, the one opener every command calls)."""
