from django.dispatch import Signal

# Sent inside the transaction that creates or rotates a user's API token;
# kwargs: user, rotated. The audit trail records it (org does not import audit).
api_token_issued = Signal()
