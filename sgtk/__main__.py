# `python -m sgtk` is an entry point, not library code: it is the only place sgtk touches the CLI.
from sgtk_cli.main import main

if __name__ == "__main__":
    main()
