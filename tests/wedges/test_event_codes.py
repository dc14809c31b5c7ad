"""The policy's event codes are defined twice, once per layer, and held equal here.

The policy core (``wedges.policy.codes``) names them for its decisions; the
audit trail (``audit.codes``) records them and may not import the apps above
it. Neither can import the other, so this test is what keeps them one fact.
"""

from audit.codes import POLICY_EVENTS, EventCode
from wedges.policy import codes
from wedges.policy.engine import Action, Decision


def test_the_audit_trail_records_the_policys_four_codes():
    assert EventCode.STAGE_ADVANCED == codes.EVENT_ADVANCED
    assert EventCode.PAUSED == codes.EVENT_PAUSED
    assert EventCode.ROLLED_BACK == codes.EVENT_ROLLED_BACK
    assert EventCode.COMPLETED == codes.EVENT_COMPLETED
    # And no other RWG- code: the policy's are the only ones.
    assert {code for code in EventCode if code.startswith("RWG-")} == POLICY_EVENTS


def test_every_decision_that_acts_names_a_policy_event():
    named = {
        action: Decision(action, "", "", None, None).event_code
        for action in Action
        if action is not Action.NONE
    }
    assert set(named.values()) == POLICY_EVENTS
