"""Redis access: key names, the Lua transitions and the router API."""
