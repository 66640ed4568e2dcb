"""Terminal chat with the corpus."""
