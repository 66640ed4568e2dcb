"""The store's articles as a user manages them: `dalil articles list / show / rm` (``agent.articles.cli``).

The work is ``Dalil.articles``, ``Dalil.article`` and ``Dalil.remove`` (``agent.pipeline``), which the HTTP
server's ``/v1/articles`` routes call too; this package only holds the commands.
"""
