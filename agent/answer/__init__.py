"""Answer: passages → an ``Answer`` whose every sentence is cited and checked.

Takes a question, its frame and retrieved passages; returns an ``agent.schema.Answer``:
verbatim cited sentences offline (``extractive``), a model's answer verified against its
passages with an LLM endpoint (``llm``, ``generate``, ``citations``, ``facts``), list, order and
compare questions through tools (``tools``, ``planner`` offline, ``agent_loop`` with a model), or
an abstention (``answers``).
"""
