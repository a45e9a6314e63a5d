"""The LanceDB stores that the pipeline publishes and the server reads."""
