from django.dispatch import Signal

# The audit trail records these (org does not import audit). Each is sent
# inside the transaction of the change it reports.

# A token was issued. kwargs: user (the owner), actor, token, subsystems
# (their slugs), rotated (whether tokens of the same name were revoked first).
api_token_issued = Signal()

# A token was revoked. kwargs: token, actor, reason.
api_token_revoked = Signal()

# A revoked or expired token was presented. kwargs: token, reason
# ("revoked" or "expired"), remote_addr. Sent at most once an hour per token.
api_token_refused = Signal()
