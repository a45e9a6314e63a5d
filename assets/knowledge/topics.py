"""The team's cultural-topic catalogue as an asset, and the category partitions the insights are built in."""

import dagster as dg

from assets.previews import markdown_table
from assets.versions import asset_code_version
from jiwa.catalogue.topics import TOPICS_PATH, TopicCatalogue, load_catalogue

# Partitions are part of the definitions, so the catalogue is read when the code location loads.
category_partitions = dg.StaticPartitionsDefinition(load_catalogue().categories)


@dg.asset(
    group_name="knowledge",
    kinds={"yaml"},
    code_version=asset_code_version(__name__, files=[TOPICS_PATH]),
    description=f"The team's cultural-topic catalogue ({TOPICS_PATH.name}), validated.",
)
def cultural_topics() -> dg.Output[TopicCatalogue]:
    catalogue = load_catalogue()
    per_category = {category: len(catalogue.in_category(category)) for category in catalogue.categories}
    return dg.Output(
        catalogue,
        metadata={
            "topics": len(catalogue.topics),
            "facets": len(catalogue.facets),
            "categories": dg.MetadataValue.json(per_category),
            "preview": markdown_table(["category", "topics"], per_category.items()),
        },
    )
