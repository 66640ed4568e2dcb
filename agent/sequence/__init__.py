"""The diplomatic sequence: events, timeline, bilingual summaries and daily briefings."""
