class SgtkError(Exception):
    """A mistake a person made (bad flag, bad file): shown as one line, never a traceback.

    The message names the problem and the fix. ``field``, when given, is the config key the
    message is about (``lr``), named as Python spells it; a front end may show its own
    spelling (the CLI prints ``--lr``).
    """

    def __init__(self, *args: object, field: str | None = None):
        super().__init__(*args)  # cooperative: WriteFailed is an OSError too
        self.field = field


class ConfigError(SgtkError):
    """A config value is out of range or of the wrong kind: ``ConfigError("lr", "lr -1.0 must
    be positive, e.g. 1e-3")``. The message starts with the field's name."""

    def __init__(self, field: str, message: str):
        super().__init__(message, field=field)

    def __reduce__(self):  # pickles (a worker's error reaching its parent) as (field, message)
        return (type(self), (self.field, str(self)))
