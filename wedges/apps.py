from django.apps import AppConfig


class WedgesConfig(AppConfig):
    name = "wedges"
    verbose_name = "Proposals and rollout wedges"

    def ready(self) -> None:
        # The audit trail cannot import wedges (dependencies point the other
        # way), so wedges tells it who reads the events of a proposal.
        from audit.selectors import Subject, register_readable
        from webhooks import facts
        from wedges.selectors import (
            PROPOSAL_FACTS,
            proposal_facts,
            proposal_ids_in_subsystems,
            readable_proposal_ids,
        )

        register_readable(
            Subject.PROPOSAL, readable_proposal_ids, in_subsystems=proposal_ids_in_subsystems
        )
        # Likewise the outbox: a waiver step or a canary's failure is announced
        # with its proposal's title, subsystem and reference.
        facts.register(PROPOSAL_FACTS, proposal_facts)
        # And a webhook delivered: the deployer of a rolled-back wedge knows.
        from webhooks.services import register_delivered_listener
        from wedges.services.timing import told_by_webhook

        register_delivered_listener(told_by_webhook)
