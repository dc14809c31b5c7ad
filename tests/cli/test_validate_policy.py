"""``wedge validate --policy FILE``: offline, under a policy version's thresholds."""

from __future__ import annotations

import copy

from tests.documents import PROPOSAL

from .conftest import run


def test_without_a_policy_file_version_one_judges(write):
    assert run("validate", write("p.json", PROPOSAL)).code == 0


def test_a_version_from_the_api_judges_the_document(write):
    body = copy.deepcopy(PROPOSAL)
    body["rollout_wedge"]["wedge_stages"][0]["target_percentage"] = 25
    version = {"number": 2, "thresholds": {"first_stage_cap": 20, "min_stages": 2}}
    result = run("validate", write("p.json", body), "--policy", write("v2.json", version))
    assert result.code == 1
    assert "first_stage_too_large" in result.out or "at most 20" in result.out
    bare = run(
        "validate", write("p2.json", body), "--policy", write("t.json", {"first_stage_cap": 25})
    )
    assert bare.code == 0, bare.err


def test_a_looser_or_unreadable_policy_file_exits_2(write, tmp_path):
    looser = write("loose.json", {"first_stage_cap": 30})
    result = run("validate", write("p.json", PROPOSAL), "--policy", looser)
    assert result.code == 2
    assert "may only be tightened" in result.err
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert run("validate", write("p.json", PROPOSAL), "--policy", str(broken)).code == 2
