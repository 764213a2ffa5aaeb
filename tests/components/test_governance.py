"""tunepipe.components.governance through python_func: the gate stops before approval, passes after."""

from __future__ import annotations


def test_gate_refuses_the_digest_until_a_human_approves_it(chain):
    digest = chain["review"][1]["digest"]
    assert f"Dataset {digest} is awaiting approval (approval.mode=stop)" in chain["gate_before_approval"]
    summary, _ = chain["gate"]
    assert summary["status"] == "approved" and summary["reviewer"] == "component-test-reviewer"
    assert summary["digest"] == digest
