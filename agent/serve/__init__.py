"""Serve: a store kept open in one process.

Takes settings; ``server`` answers ``dalil ask`` / ``dalil search`` requests (JSON) over a private
Unix socket and returns the same ``Answer`` / ``SearchResult`` documents as the commands; the
client side imports nothing heavy.
"""
