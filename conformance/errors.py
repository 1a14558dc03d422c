"""The errors the CLI turns into exit codes: 2 for bad usage, config or input, 3 for an untestable target."""


class UsageError(Exception):
    """Bad usage, configuration or input (exit 2). The message is one line and names the culprit."""


class ConfigError(UsageError):
    """A configuration value is unknown, missing or of the wrong kind; the message names the key."""


class ContractError(UsageError):
    """The spec file cannot be read or does not describe the HEMS session endpoint."""


class InputError(UsageError):
    """A payload file cannot be read or is not JSON; the message names the file and position."""


class TargetError(Exception):
    """The target could not be tested at all: down, TLS failure, broken token endpoint (exit 3)."""
