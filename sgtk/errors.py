class SgtkError(Exception):
    """A mistake a person made (bad flag, bad file): shown as one line, never a traceback.

    The message names the problem and the fix.
    """
