"""Plain logic of the knowledge base: insight rows, near-duplicate removal, and the audit of a batch."""
