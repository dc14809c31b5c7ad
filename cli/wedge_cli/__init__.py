"""``wedge``: Wedge on the command line, for people and pipelines (see ``wedge --help``).

Validation and planning run offline with the server's own policy core (the
repository's ``wedges/policy``, installed beside this package as
``wedge_policy``); everything else talks to a Wedge server's API.
"""

# The one place the version is written (cli/pyproject.toml reads it from here):
# asking importlib.metadata at every start would cost more than the rest of it.
__version__ = "0.1.0"
