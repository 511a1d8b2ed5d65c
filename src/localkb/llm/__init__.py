"""LLM backends behind one small Protocol, picked by URI (see ``base.open_llm``)."""
