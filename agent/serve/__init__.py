"""Serve: a store kept open in one process, and the clients of such a process.

Takes settings. ``http`` is the server: a FastAPI app answering with the same JSON documents as the
commands' ``--json`` (``Answer``, ``SearchResult``, the timeline, summary and briefing, the store's
articles) and an OpenAI-compatible chat endpoint, on a TCP port (``dalil serve --http``) or on a
private Unix socket (``server``: ``dalil serve``, which ``dalil ask`` / ``dalil search`` with the same
settings hand their question to). ``client`` is its standard-library HTTP client (the client side
imports nothing heavy); ``remote`` turns a remote server's replies into what the commands render
(``dalil --server URL``).
"""
