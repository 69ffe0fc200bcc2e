"""The two ways talking to a Docker engine fails, as the rest of the project sees them."""


class EngineError(Exception):
    """A daemon could not be reached or answered in a way we cannot use."""


class EngineUnreachable(EngineError):
    """Nothing answered, or it answered too slowly (the usual transient failure)."""


class MalformedAnswer(EngineError):
    """The daemon answered, but not in the shape the Engine API describes (untrusted input)."""
