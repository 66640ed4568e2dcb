"""The diplomatic sequence: articles → dated events, a timeline, bilingual summaries and daily briefings.

Takes the store's articles (and their event reports, extracted at ingest by ``agent.events``); returns
``Event``s grouped from every outlet's reports (``timeline``), an Arabic and an English summary
whose sentences are cited and checked (``summary``) and a day's briefing in Markdown and HTML
(``brief``).
"""
