"""The vetted publish: commit only when every blocking check passed and there is something new; otherwise hold."""

import dagster as dg

from assets.publishing import PUBLISHED, hold, publish, was_held


def _check(name: str, passed: bool) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=name, passed=passed, description=f"{name} said {passed}")


def _commit(calls: list):
    def commit():
        calls.append(1)
        return {"table_version": 7, "table_rows": 3}

    return commit


def test_passing_checks_commit_and_report_after_published():
    calls: list = []
    publication = publish(dg.build_asset_context(), "rows", {"rows": 3}, [_check("a", True)], _commit(calls))
    assert calls == [1] and publication.published and publication.table_version == 7
    assert publication.held_because is None
    result = publication.result()
    assert list(result.metadata) == ["rows", PUBLISHED, "table_version", "table_rows"]
    assert result.metadata[PUBLISHED] is True and len(result.check_results) == 1


def test_a_failed_blocking_check_holds_and_says_why():
    calls: list = []
    checks = [_check("a", True), _check("b", False)]
    publication = publish(dg.build_asset_context(), "rows", {"rows": 3}, checks, _commit(calls))
    assert calls == [] and not publication.published and publication.table_version is None
    assert publication.held_because == "b: b said False"
    assert publication.result().metadata == {"rows": 3, PUBLISHED: False}


def test_only_the_named_checks_block_and_nothing_new_holds():
    calls: list = []
    checks = [_check("a", True), _check("advisory", False)]
    context = dg.build_asset_context()
    assert publish(context, "rows", {}, checks, _commit(calls), blocking={"a"}).published
    held = publish(context, "rows", {}, checks, _commit(calls), blocking={"a"}, nothing_new=True)
    assert calls == [1] and not held.published and held.held_because == "nothing new to publish"


def test_the_held_flag_reads_back_from_a_materialization():
    assert was_held({PUBLISHED: dg.MetadataValue.bool(False)})
    assert not was_held({PUBLISHED: dg.MetadataValue.bool(True)})
    assert not was_held({})  # an asset with no gate
    assert hold({}, [], "why").result().metadata == {PUBLISHED: False}
