from django.dispatch import Signal

proposal_submitted = Signal()  # sent inside the submission transaction; kwargs: proposal
