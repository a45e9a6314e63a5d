"""The response cache's rules: the rows one build publishes, which messages lean on the conversation before them (never
answered from the cache), and the grouping of unanswered questions into proposed intents."""
