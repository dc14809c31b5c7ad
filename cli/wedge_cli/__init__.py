"""``wedge``: Wedge on the command line, for people and pipelines (see ``wedge --help``).

Validation and planning run offline with the server's own policy core (the
repository's ``wedges/policy``, installed beside this package as
``wedge_policy``); everything else talks to a Wedge server's API.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wedge-cli")
except PackageNotFoundError:  # imported from a checkout without installing
    __version__ = "0+unknown"
