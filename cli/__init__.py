"""The sgtk command line: thin Typer commands over the sgtk library."""
