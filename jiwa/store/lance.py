"""Opening, writing and publishing LanceDB tables. Every write is one atomic commit, so readers never see half of it."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta

import lancedb
import pyarrow as pa

from jiwa.embedding import Embedder
from jiwa.store.schema import EMBEDDING_DIM_KEY, EMBEDDING_MODEL_KEY

log = logging.getLogger(__name__)

_COMMIT_ATTEMPTS = 5


class StoreNotReadyError(LookupError):
    """A table the caller needs has not been materialized yet."""


def connect(uri: str) -> lancedb.DBConnection:
    return lancedb.connect(uri)


def table_embedder(schema: pa.Schema) -> tuple[str, int]:
    metadata = schema.metadata or {}
    if EMBEDDING_MODEL_KEY not in metadata or EMBEDDING_DIM_KEY not in metadata:
        return "", 0
    return metadata[EMBEDDING_MODEL_KEY].decode(), int(metadata[EMBEDDING_DIM_KEY])


def open_vector_table(db: lancedb.DBConnection, name: str, embedder: Embedder) -> lancedb.Table:
    """Open a table and refuse it if its vectors came from another embedder."""
    if name not in db.table_names():
        raise StoreNotReadyError(f"Table '{name}' does not exist under {db.uri}; materialize the {name} asset first.")
    table = db.open_table(name)
    model_name, dimension = table_embedder(table.schema)
    embedder.check_compatible(model_name, dimension, where=f"Table '{name}'")
    return table


def upsert(
    db: lancedb.DBConnection,
    name: str,
    schema: pa.Schema,
    rows: pa.Table,
    *,
    replace_scope: str | None = None,
    rebuild_on_new_embedder: bool = False,
):
    """Insert or update rows by id in one commit; with replace_scope, rows in that scope absent from `rows` are deleted.

    A table whose vectors came from another embedder is refused, unless rebuild_on_new_embedder: then, for a table
    the pipeline derives whole again (the knowledge base, the cache), it is dropped and built anew.
    """
    if name in db.table_names():
        table = db.open_table(name)
    else:
        # exist_ok covers a concurrent partition run that created the table first.
        table = db.create_table(name, schema=schema, exist_ok=True)
    stored_model, stored_dim = table_embedder(table.schema)
    new_model, new_dim = table_embedder(schema)
    if (stored_model, stored_dim) != (new_model, new_dim) and rebuild_on_new_embedder:
        log.warning("%s: vectors from '%s' replaced by a rebuild with '%s'", name, stored_model, new_model)
        db.drop_table(name)
        table = db.create_table(name, schema=schema, exist_ok=True)
    elif (stored_model, stored_dim) != (new_model, new_dim):
        raise ValueError(
            f"Table '{name}' holds vectors from '{stored_model}' ({stored_dim} dims) but this run embeds with "
            f"'{new_model}' ({new_dim} dims). Rematerialize every partition of {name} after dropping the table, "
            "or set the embedder back."
        )
    rows = rows.cast(schema)

    def commit() -> None:
        merge = table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
        if replace_scope is not None:
            merge = merge.when_not_matched_by_source_delete(replace_scope)
        merge.execute(rows)

    _with_conflict_retry(table, name, commit)
    return table


def ids_where(db: lancedb.DBConnection, name: str, predicate: str) -> list[str]:
    """The ids of a table's rows that match; none when the table does not exist."""
    if name not in db.table_names():
        return []
    return db.open_table(name).search().where(predicate).select(["id"]).limit(None).to_arrow()["id"].to_pylist()


def delete_where(db: lancedb.DBConnection, name: str, predicate: str) -> int:
    """Delete matching rows in one commit; returns how many went. A missing table has nothing to delete."""
    if name not in db.table_names():
        return 0
    table = db.open_table(name)
    before = table.count_rows()
    _with_conflict_retry(table, name, lambda: table.delete(predicate))
    table.checkout_latest()
    return before - table.count_rows()


def sql_literal(value: object) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_list(values) -> str:
    """A SQL IN-list of string literals."""
    return "(" + ", ".join(sql_literal(value) for value in values) + ")"


def sql_timestamp(at: datetime) -> str:
    """A UTC instant as LanceDB's SQL reads it inside timestamp '...'."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _with_conflict_retry(table, name: str, commit) -> None:
    for attempt in range(1, _COMMIT_ATTEMPTS + 1):
        try:
            commit()
            return
        except Exception as exc:  # lance reports a lost commit race as a generic runtime error
            if "conflict" not in str(exc).lower() or attempt == _COMMIT_ATTEMPTS:
                raise
            log.info("commit conflict on %s (attempt %d), retrying", name, attempt)
            time.sleep(0.2 * attempt)
            table.checkout_latest()


def refresh_indexes(table, *, text_column: str, vector_min_rows: int) -> None:
    """Keep the full-text index current, and add an ANN vector index once the table is big enough to need one."""
    indexed = {column for index in table.list_indices() for column in index.columns}
    if text_column not in indexed:
        table.create_fts_index(text_column, replace=True)
    if "vector" not in indexed and table.count_rows() >= vector_min_rows:
        table.create_index(metric="cosine", vector_column_name="vector", index_type="IVF_HNSW_SQ")
    table.optimize()


def tag_version(table, label: str) -> int:
    """Tag the current version so it stays restorable after compaction; returns the version. A rerun of the same
    run or partition moves its tag to the new version instead of failing on it."""
    version = table.version
    tag = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")
    if tag in table.tags.list():
        table.tags.update(tag, version)
    else:
        table.tags.create(tag, version)
    return version


def compact(table, *, keep_versions_for: timedelta | None) -> dict:
    """Rewrite fragments so deleted rows are gone from the data files, then drop old versions.

    keep_versions_for=None keeps no older version and no tag: for tables of user data, where a version from before
    a deletion would still hold the deleted rows. Otherwise a tag keeps its version restorable for as long as the
    retention, not longer: a tagged old version could hold rows derived from a user who was forgotten since.
    """
    latest = table.version
    stamps = {entry["version"]: entry["timestamp"] for entry in table.list_versions()}
    # Lance reports naive local times.
    cutoff = None if keep_versions_for is None else datetime.now() - keep_versions_for
    for tag, info in list(table.tags.list().items()):
        expired = cutoff is None or (stamps.get(info["version"]) is not None and stamps[info["version"]] < cutoff)
        if expired and (cutoff is None or info["version"] != latest):
            table.tags.delete(tag)
    compaction = table.to_lance().optimize.compact_files(
        materialize_deletions=True, materialize_deletions_threshold=0.0
    )
    table.checkout_latest()
    # Tagged versions within the retention stay restorable; cleanup skips them instead of failing.
    cleanup = table.to_lance().cleanup_old_versions(
        older_than=keep_versions_for or timedelta(0), error_if_tagged_old_versions=False
    )
    table.checkout_latest()
    return {
        "fragments_removed": compaction.fragments_removed,
        "fragments_added": compaction.fragments_added,
        "versions_removed": cleanup.old_versions,
        "bytes_removed": cleanup.bytes_removed,
    }
