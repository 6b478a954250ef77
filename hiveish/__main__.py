"""`python -m hiveish`: the same command as the `hiveish` console script."""

from hiveish.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
