"""The Starlette app: sockets, HTTP API, delivery, authentication."""
