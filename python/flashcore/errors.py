"""The exceptions flashcore raises: one class carrying the library's error fields."""


class FlashcoreError(RuntimeError):
    """A flashcore::Error: what happened (the message) and where.

    stage: validate | render | compile | load | launch | cache | driver | verify | io
    code: bad_input | bad_problem | compile_failed | no_driver | no_device | launch_fault | ...
    variant: the canonical variant involved ("" if none); arch: the target ("sm_90a", or "").
    native: the CUresult / nvrtcResult / errno (0 if none); log: the compile log, if any.
    """

    def __init__(self, message, stage="validate", code="internal", variant="", arch="", native=0, log=""):
        super().__init__(message)
        self.message = message
        self.stage = stage
        self.code = code
        self.variant = variant
        self.arch = arch
        self.native = native
        self.log = log


class FlashcoreValueError(FlashcoreError, ValueError):
    """Bad input: a shape, stride, variant or problem the library refuses (code bad_input/bad_problem)."""


class FlashcoreTypeError(FlashcoreError, TypeError):
    """An operand of the wrong kind: not a CUDA array, or a dtype flashcore does not take."""
