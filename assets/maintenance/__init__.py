"""Maintenance: the hourly compaction of every store, so forgotten users leave the disk within the hour."""

import dagster as dg

from assets.maintenance.store_compaction import hourly_compaction, store_compaction

defs = dg.Definitions(jobs=[store_compaction], schedules=[hourly_compaction])
