"""Write docs/permissions.md from the code: the role × permission matrix and every route's rule."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sekisho.admin.route_table import reference_markdown
from sekisho.app import build_app
from sekisho.settings import Settings


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        app = build_app(Settings(data_dir=Path(data), providers=[], models=[]))
        out = Path(__file__).parents[1] / "docs" / "permissions.md"
        out.write_text(reference_markdown(app), encoding="utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
