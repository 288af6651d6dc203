"""The floor: about the least a Textual + docker-py container list can be.

    python bench/floor.py unix:///path/to/docker.sock

What any Textual Docker TUI stands on: import Textual and docker-py, connect, one
`GET /containers/json`, fill a DataTable. dhitui's first paint is measured against this.
"""

import sys

import docker
from textual.app import App, ComposeResult
from textual.widgets import DataTable


class Floor(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Image", "State", "Status")
        client = docker.DockerClient(base_url=sys.argv[1])
        for c in client.api.containers():
            table.add_row(c["Names"][0].lstrip("/"), c["Image"], c["State"], c["Status"])


if __name__ == "__main__":
    Floor().run()
