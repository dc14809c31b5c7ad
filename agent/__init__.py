"""Wedge's reference deployment agent.

It follows the desired exposure of the proposals it is told to follow (signed
webhooks, with ``desired-state/`` as the authority and the fallback), sets the
canary's and the stable server's weights in HAProxy through its runtime API,
and reports the exposure it actually applied back to Wedge.

No Django and nothing from Wedge's apps: it is a separate program that runs
next to the load balancer.
"""

__version__ = "0.1.0"
