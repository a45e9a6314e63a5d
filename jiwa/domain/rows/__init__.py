"""One row class per table: its columns in order, their types and the status words they may hold. The store derives
each table's Arrow schema from its row (jiwa.store.row_schema); builders construct the row, so a wrong column name
or value fails where the row is built."""
