"""Serve: a store kept open in one process.

Takes settings; ``server`` answers ``dalil ask`` / ``dalil search`` requests (JSON) over a private
Unix socket and returns the same ``Answer`` / ``SearchResult`` documents as the commands; the
client side imports nothing heavy. ``http`` (``dalil serve --http``) answers HTTP clients: the same
documents (and the timeline's) as a JSON API, and an OpenAI-compatible chat endpoint.
"""
