"""The one error type the simulator raises for bad input."""


class InvalidParameter(ValueError):
    """A parameter is missing, malformed or out of range.

    ``field`` names the parameter exactly as :func:`migrationsim.build_spec` spells it
    (``dirty_rate``, ``downtime_limit``...), so a CLI can name its flag and a web form its field.
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
