"""Files in and out (:mod:`sgtk.io.files`) and the run-folder lock (:mod:`sgtk.io.lock`): the
lowest layer, importable by every other."""
