"""``python -m di_backend``: the ``di-backend`` command."""

from di_backend.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
